package headless

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
	"time"
)

// BenchmarkRecordLines encodes an event's records as JSON lines with the
// line encoder and, interleaved in the same loop, with encoding/json into a
// reused buffer, which is what the lines must equal: x_json is ours over
// theirs, per record.
func BenchmarkRecordLines(b *testing.B) {
	ev := recordsEvent(80)
	for i := range ev.Records {
		ev.Records[i].Fields["task"] = "0123abcd-" + strconv.Itoa(i)
	}
	var e lineEncoder
	var ours []byte
	var theirs bytes.Buffer
	enc := json.NewEncoder(&theirs)
	var tOurs, tJSON time.Duration
	for b.Loop() {
		t0 := time.Now()
		ours = ours[:0]
		e.event(ev.Time, ev.Plugin, ev.Instance)
		for i := range ev.Records {
			ours = e.append(ours, &ev.Records[i])
		}
		t1 := time.Now()
		theirs.Reset()
		for _, r := range ev.Records {
			if err := enc.Encode(line{ev.Time, ev.Plugin, ev.Instance, r.Timestamp, r.Token, r.Fields}); err != nil {
				b.Fatal(err)
			}
		}
		tOurs, tJSON = tOurs+t1.Sub(t0), tJSON+time.Since(t1)
	}
	if !bytes.Equal(ours, theirs.Bytes()) {
		b.Fatal("the lines differ from encoding/json's")
	}
	records := float64(b.N * len(ev.Records))
	b.ReportMetric(float64(tOurs.Nanoseconds())/records, "ns/record")
	b.ReportMetric(float64(tJSON.Nanoseconds())/records, "json-ns/record")
	b.ReportMetric(float64(tOurs)/float64(tJSON), "x_json")
	b.ReportMetric(testing.AllocsPerRun(20, func() {
		ours = ours[:0]
		e.event(ev.Time, ev.Plugin, ev.Instance)
		for i := range ev.Records {
			ours = e.append(ours, &ev.Records[i])
		}
	})/float64(len(ev.Records)), "allocs/record")
}
