package supervisor

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/plugvisor/plugvisor/protocol"
)

// TestSizeIsNotBelowWhatIsHeld: for records as the decoder makes them (one
// string block per record, a map per record), the estimate is at least the
// heap they take, so budgets built on it bound memory.
func TestSizeIsNotBelowWhatIsHeld(t *testing.T) {
	for _, fields := range []int{1, 5, 50} {
		const n = 2000
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		recs := make([]protocol.Record, n)
		for i := range recs {
			f := make(map[string]string, fields)
			block := string(make([]byte, fields*16)) // keys and values slice one block, as decoded
			for j := range fields {
				f["k"+strconv.Itoa(j)] = block[j*16 : j*16+8]
			}
			recs[i] = protocol.Record{Timestamp: int64(i), Fields: f}
		}
		runtime.ReadMemStats(&after)
		held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		est := (&Event{Records: recs}).Size()
		if est < held {
			t.Errorf("%d fields: estimate %d bytes, the records hold %d", fields, est, held)
		}
		t.Logf("%d records of %d fields: estimate %d, held %d (%.1fx)", n, fields, est, held, float64(est)/float64(held))
		runtime.KeepAlive(recs)
	}
}
