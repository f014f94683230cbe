package control

import (
	"bytes"
	"runtime"
	"testing"

	mp "github.com/plugvisor/plugvisor/internal/msgpack"
)

// TestTypesCountIsNotTrusted: a request whose types array claims a million
// (empty) strings decodes into a bounded slice: the count is the sender's.
func TestTypesCountIsNotTrusted(t *testing.T) {
	const n = 1 << 20
	b := mp.AppendMapHeader(nil, 1)
	b = mp.AppendArrayHeader(mp.AppendString(b, "types"), n)
	b = append(b, bytes.Repeat([]byte{0xa0}, n)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var q Request
	err := decodeRequest(b, &q)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 || len(q.Types) > 5 {
		t.Fatalf("decoding %d bytes allocated %d bytes, kept %d types", len(b), got, len(q.Types))
	}
}
