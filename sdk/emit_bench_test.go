package sdk

import (
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
)

// BenchmarkEmitSink is the emitter's cost of Emit for a 5-field record: the
// sink and its queue, drained by a writer that sends nothing, so neither
// the socket nor the peer is in it. The anchor, measured in the same run
// for as many records, is encoding the same record once with the protocol
// encoder; x_encode is Emit's cost over it.
//
//	go test ./sdk -run '^$' -bench EmitSink -count 5
func BenchmarkEmitSink(b *testing.B) {
	fields := Fields{"data_type": "metric", "host": "web-01", "name": "cpu", "value": "0.42", "unit": "ratio"}
	q := newQueue(defaultQueueSize, defaultQueueBytes, protocol.DefaultMaxFrame)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		var batch []protocol.EncodedRecord
		for {
			if batch = q.next(batch[:0]); len(batch) == 0 {
				return
			}
			q.wrote(len(batch))
		}
	}()
	s := Sink{q: q}
	b.ReportAllocs()
	// Rounds alternate the two, so both see the same share of whatever else
	// the machine is doing.
	const rounds = 4
	per := max(b.N/rounds, 1)
	var emit, anchor time.Duration
	b.ResetTimer()
	for range rounds {
		t0 := time.Now()
		for range per {
			if err := s.Emit(fields); err != nil {
				b.Fatal(err)
			}
		}
		emit += time.Since(t0)
		b.StopTimer()
		anchor += encodeOnce(b, fields, per)
		b.StartTimer()
	}
	b.StopTimer()
	q.close()
	<-drained
	perEmit := emit / time.Duration(rounds*per)
	perAnchor := anchor / rounds
	b.ReportMetric(float64(perEmit.Nanoseconds()), "ns/record")
	b.ReportMetric(float64(perAnchor.Nanoseconds()), "encode-ns/record")
	b.ReportMetric(float64(perEmit)/float64(perAnchor), "x_encode")
}

// encodeOnce is the mean cost of stamping and encoding fields as a
// one-record Data message with the protocol encoder.
func encodeOnce(b *testing.B, fields Fields, n int) time.Duration {
	var buf []byte
	t0 := time.Now()
	for range n {
		var err error
		buf, err = protocol.Append(buf[:0], &protocol.Data{Records: []protocol.Record{{Timestamp: time.Now().UnixNano(), Fields: fields}}})
		if err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(t0) / time.Duration(max(n, 1))
}
