package supervisor

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/protocol"
)

// A records event sized from its frame is charged at least what measuring
// every field says, so a budget stays a bound, and at most the frame's
// framing bytes more.
func TestRecordsEventSizeBoundsMeasure(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	word := func() string { return strings.Repeat("x", rng.IntN(40)) }
	for range 500 {
		recs := make([]protocol.Record, 1+rng.IntN(50))
		for i := range recs {
			recs[i].Fields = map[string]string{protocol.FieldDataType: "t" + word()}
			for range rng.IntN(6) {
				recs[i].Fields["k"+word()] = word()
			}
			if rng.IntN(4) == 0 {
				recs[i].Token = "tok" + word()
			}
		}
		payload, err := protocol.Append(nil, &protocol.Data{Records: recs})
		if err != nil {
			t.Fatal(err)
		}
		m, err := protocol.Decode(payload)
		if err != nil {
			t.Fatal(err)
		}
		e := Event{Type: EventRecords, Plugin: "p", Instance: "p-1", Records: m.(*protocol.Data).Records}
		measured, bound := e.measure(), recordsEventSize(&e, len(payload))
		if bound < measured || bound > measured+int64(len(payload)) {
			t.Fatalf("sized from the frame %d, measured %d, frame %d bytes", bound, measured, len(payload))
		}
	}
}
