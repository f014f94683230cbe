package fleet

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/plugvisor/plugvisor/internal/natstest"
	"github.com/plugvisor/plugvisor/internal/spool"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// engineFeed is an engine reduced to its event stream, so a benchmark measures
// the link and not how fast a plugin can emit.
type engineFeed struct {
	supervisor.API
	events chan supervisor.Event
}

func (f *engineFeed) Subscribe(ctx context.Context, _ int) (<-chan supervisor.Event, func(), error) {
	return f.events, func() {}, nil
}

// benchRecord is a typical telemetry record: five fields, ~120 bytes.
func benchRecord(i int) protocol.Record {
	return protocol.Record{Timestamp: time.Now().UnixNano(), Fields: map[string]string{
		"data_type": "proc", "pid": strconv.Itoa(i), "exe": "/usr/bin/example", "user": "root", "cmdline": "example --flag value",
	}}
}

// BenchmarkRecordsToJetStream: records/s from one link into a real
// JetStream stream with every ack awaited, against raw nats.go async
// publishing of the same bytes (body and headers) to the same stream in the
// same run, with the same bound in flight.
func BenchmarkRecordsToJetStream(b *testing.B) {
	srv := natstest.Start(b, natstest.Options{JetStream: true})
	const records = 20000
	var linkRate, rawRate float64
	for range b.N { // interleaved, so both see the same machine
		rawRate += benchRaw(b, srv.URL(), records)
		linkRate += benchLink(b, srv.URL(), records)
	}
	n := float64(b.N)
	b.ReportMetric(linkRate/n, "link-records/s")
	b.ReportMetric(rawRate/n, "raw-records/s")
	b.ReportMetric(linkRate/rawRate, "link/raw")
}

func benchStream(b *testing.B, nc *nats.Conn, name string) jetstream.Stream {
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	_ = js.DeleteStream(ctx, name)
	s, err := js.CreateStream(ctx, StreamConfig{Name: name, Subjects: StreamSubjects("bench"), Duplicates: 2 * time.Minute}.jsConfig())
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func benchLink(b *testing.B, url string, records int) float64 {
	nc, err := nats.Connect(url, nats.CustomInboxPrefix("_INBOX_bench_h"))
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	benchStream(b, nc, "BENCH")
	sp, err := spool.Open(spool.Options{MemoryBytes: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	f := &engineFeed{events: make(chan supervisor.Event, 1024)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	l, err := StartLink(ctx, LinkOptions{Conn: nc, API: f, Subjects: Subjects{Prefix: "bench", Host: "h"},
		Stream: StreamConfig{Name: "BENCH"}, Spool: sp, PublishWindow: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	for i := range records / 10 {
		recs := make([]protocol.Record, 10)
		for j := range recs {
			recs[j] = benchRecord(i*10 + j)
		}
		f.events <- supervisor.Event{Type: supervisor.EventRecords, Plugin: "p", Instance: "p", Records: recs}
	}
	for l.Stats().Acked < uint64(records) {
		time.Sleep(100 * time.Microsecond) // a benchmark's poll: the figure is over 20,000 records
	}
	return float64(records) / time.Since(start).Seconds()
}

func benchRaw(b *testing.B, url string, records int) float64 {
	nc, err := nats.Connect(url)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	benchStream(b, nc, "BENCH")
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		b.Fatal(err)
	}
	var enc recordEncoder
	enc.subjects, enc.idPrefix = Subjects{Prefix: "bench", Host: "h"}, []byte("raw.")
	msgs := make([]*nats.Msg, records)
	for i := range msgs {
		r := benchRecord(i)
		m, err := message(enc.blob("p", "p", &r))
		if err != nil {
			b.Fatal(err)
		}
		msgs[i] = m
	}
	start := time.Now()
	for _, m := range msgs {
		if _, err := js.PublishMsgAsync(m); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("raw publishes not acknowledged in a minute")
	}
	return float64(records) / time.Since(start).Seconds()
}
