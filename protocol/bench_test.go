package protocol_test

import (
	"bytes"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/plugvisor/plugvisor/internal/percentile"
	"github.com/plugvisor/plugvisor/protocol"
)

// Every benchmark runs next to its anchor in the same run, on the same
// machine state: the raw Unix socket moving the same bytes, or the generic
// msgpack library coding the same record. BENCHMARKS.md has the commands and
// the figures.

// benchRecord is the benchmark's record: 5 fields, about 100 bytes encoded.
func benchRecord(i int) protocol.Record {
	return protocol.Record{Timestamp: exampleTime + int64(i), Fields: map[string]string{
		"data_type": "cpu", "host": "web-01.example", "core": "3", "usage": "42.5", "unit": "percent-user",
	}}
}

// batchSize is how many records the throughput sender puts in one frame.
const batchSize = 256

func benchBatch() *protocol.Data {
	recs := make([]protocol.Record, batchSize)
	for i := range recs {
		recs[i] = benchRecord(i)
	}
	return &protocol.Data{Records: recs}
}

func mustFrame(b *testing.B, m protocol.Message) []byte {
	f, err := protocol.AppendFrame(nil, m)
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// BenchmarkRoundTrip: a task out and its reply record back through two
// Conns on a Unix socket (a goroutine plays the plugin), interleaved with a
// raw ping-pong of the same byte counts on another socket of the same
// listener. ns/op, p50-ns and p99-ns are the Conn's; raw-* are the anchor's;
// x_raw is p50 over raw p50.
func BenchmarkRoundTrip(b *testing.B) {
	s := newServer(b)
	task := &protocol.Task{ID: 1, Content: "uptime", Token: "t-000001"}
	reply := &protocol.Data{Records: []protocol.Record{{Timestamp: exampleTime, Token: task.Token,
		Fields: map[string]string{protocol.FieldDataType: "uptime", protocol.FieldTaskStatus: protocol.StatusOK}}}}
	taskFrame, replyFrame := mustFrame(b, task), mustFrame(b, reply)

	sup, plugin := s.connPair(b, protocol.Options{}, protocol.Options{})
	go func() { // the plugin: every task answered by a completing record
		for {
			m, err := plugin.Recv()
			if err != nil {
				return
			}
			t := m.(*protocol.Task)
			if plugin.Send(&protocol.Data{Records: []protocol.Record{{Timestamp: exampleTime, Token: t.Token,
				Fields: map[string]string{protocol.FieldDataType: "uptime", protocol.FieldTaskStatus: protocol.StatusOK}}}}) != nil {
				return
			}
		}
	}()
	rawSup, rawPlugin := s.dialRaw(b)
	go func() { // the raw anchor: read a task's bytes, write a reply's
		in := make([]byte, len(taskFrame))
		for {
			if _, err := io.ReadFull(rawPlugin, in); err != nil {
				return
			}
			if _, err := rawPlugin.Write(replyFrame); err != nil {
				return
			}
		}
	}()

	in := make([]byte, len(replyFrame))
	var conn, raw []time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if _, err := rawSup.Write(taskFrame); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(rawSup, in); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := sup.Send(task); err != nil {
			b.Fatal(err)
		}
		m, err := sup.Recv()
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if d := m.(*protocol.Data); d.Records[0].Token != task.Token {
			b.Fatalf("reply carries token %q", d.Records[0].Token)
		}
		raw, conn = append(raw, t1.Sub(t0)), append(conn, t2.Sub(t1))
	}
	b.StopTimer()
	var total time.Duration
	for _, d := range conn {
		total += d
	}
	p50, rawP50 := percentile.Of(conn, 50), percentile.Of(raw, 50)
	b.ReportMetric(float64(total.Nanoseconds())/float64(len(conn)), "ns/op")
	b.ReportMetric(float64(p50.Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(percentile.Of(conn, 99).Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(rawP50.Nanoseconds()), "raw-p50-ns")
	b.ReportMetric(float64(percentile.Of(raw, 99).Nanoseconds()), "raw-p99-ns")
	b.ReportMetric(float64(p50)/float64(rawP50), "x_raw")
	b.ReportMetric(float64(len(taskFrame)), "task-B")
	b.ReportMetric(float64(len(replyFrame)), "reply-B")
}

// BenchmarkThroughput: one-way records through one Conn on a Unix socket,
// 256 records of about 100 bytes per data frame, the receiver decoding
// every record; then, as the anchor, the same bytes in the same frame-sized
// writes over a raw socket of the same listener, the receiver only reading.
// An op is one batch; x_raw is the Conn's time over the raw time.
func BenchmarkThroughput(b *testing.B) {
	s := newServer(b)
	data := benchBatch()
	frameLen := len(mustFrame(b, data))
	client, srv := s.connPair(b, protocol.Options{}, protocol.Options{})
	rawClient, rawSrv := s.dialRaw(b)
	rawFrame := mustFrame(b, data)

	b.ResetTimer()
	start := time.Now()
	go func() {
		for range b.N {
			if _, err := rawClient.Write(rawFrame); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for left := b.N * frameLen; left > 0; {
		n, err := rawSrv.Read(buf[:min(len(buf), left)])
		if err != nil {
			b.Fatal(err)
		}
		left -= n
	}
	rawTime := time.Since(start)

	start = time.Now()
	go func() {
		for range b.N {
			if client.Send(data) != nil {
				return
			}
		}
	}()
	records := 0
	for range b.N {
		m, err := srv.Recv()
		if err != nil {
			b.Fatal(err)
		}
		records += len(m.(*protocol.Data).Records)
	}
	connTime := time.Since(start)
	b.StopTimer()
	if records != b.N*batchSize {
		b.Fatalf("received %d records, want %d", records, b.N*batchSize)
	}
	b.ReportMetric(float64(connTime.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(float64(records)/connTime.Seconds(), "records/s")
	b.ReportMetric(float64(b.N*frameLen)/connTime.Seconds()/1e6, "MB/s")
	b.ReportMetric(float64(b.N*frameLen)/rawTime.Seconds()/1e6, "raw-MB/s")
	b.ReportMetric(float64(connTime)/float64(rawTime), "x_raw")
	b.ReportMetric(float64(frameLen)/batchSize, "B/record")
}

// genericData mirrors Data for the generic library: the typed, tag-driven
// way a Go program would use it.
type genericData struct {
	Kind    string          `msgpack:"kind"`
	Records []genericRecord `msgpack:"records"`
}

type genericRecord struct {
	Timestamp int64             `msgpack:"timestamp"`
	Token     string            `msgpack:"token,omitempty"`
	Fields    map[string]string `msgpack:"fields"`
}

func toGeneric(d *protocol.Data) *genericData {
	g := &genericData{Kind: "data"}
	for _, r := range d.Records {
		g.Records = append(g.Records, genericRecord{r.Timestamp, r.Token, r.Fields})
	}
	return g
}

// reportPerRecord turns whole-batch costs into per-record metrics.
func reportPerRecord(b *testing.B, run func()) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for range b.N {
		run()
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	n := float64(b.N * batchSize)
	b.ReportMetric(float64(elapsed.Nanoseconds())/n, "ns/record")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/record")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/record")
}

// BenchmarkRecordCodec: encoding and decoding a 256-record data payload,
// ours next to the generic library (typed structs, compact integers,
// reused buffers), reported per record.
func BenchmarkRecordCodec(b *testing.B) {
	data := benchBatch()
	payload, err := protocol.Append(nil, data)
	if err != nil {
		b.Fatal(err)
	}
	generic := toGeneric(data)

	b.Run("encode/ours", func(b *testing.B) {
		buf := make([]byte, 0, len(payload))
		reportPerRecord(b, func() { buf, _ = protocol.Append(buf[:0], data) })
	})
	b.Run("encode/generic", func(b *testing.B) {
		var buf bytes.Buffer
		enc := msgpack.NewEncoder(&buf)
		enc.UseCompactInts(true)
		reportPerRecord(b, func() {
			buf.Reset()
			if err := enc.Encode(generic); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("decode/ours", func(b *testing.B) {
		reportPerRecord(b, func() {
			if _, err := protocol.Decode(payload); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("decode/generic", func(b *testing.B) {
		r := bytes.NewReader(payload)
		dec := msgpack.NewDecoder(r)
		reportPerRecord(b, func() {
			r.Reset(payload)
			dec.Reset(r)
			var g genericData
			if err := dec.Decode(&g); err != nil {
				b.Fatal(err)
			}
		})
	})
}
