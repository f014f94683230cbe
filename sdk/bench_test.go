package sdk_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/sdk"
)

// benchSession runs p in this process against a minimal supervisor, one
// protocol.Conn on a real Unix socket, and returns that Conn once the
// plugin is welcomed.
func benchSession(b *testing.B, p sdk.Plugin) *protocol.Conn {
	b.Helper()
	sock := filepath.Join(b.TempDir(), "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = sdk.Run(ctx, p, sdk.WithEnv(sdk.Env{Socket: sock, Plugin: "bench", Instance: "bench-1"}), sdk.WithSignals(), sdk.WithGrace(time.Second),
			sdk.WithLogger(slog.New(slog.DiscardHandler)))
	}()
	nc, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	c := protocol.NewConn(nc, protocol.Options{})
	if _, err := c.Recv(); err != nil { // hello
		b.Fatal(err)
	}
	if err := c.Send(&protocol.Welcome{Protocol: protocol.Version, Heartbeat: time.Second, Supervisor: "bench"}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cancel()
		c.Close()
		<-done
	})
	return c
}

// rawPingPong is the anchor: the mean round trip of a ping answered by a
// pong between two protocol.Conns on a Unix socket in this process, the
// least a task's round trip can cost.
func rawPingPong(b *testing.B, n int) time.Duration {
	b.Helper()
	a, z, err := socketPair(filepath.Join(b.TempDir(), "p.sock"))
	if err != nil {
		b.Fatal(err)
	}
	ca, cz := protocol.NewConn(a, protocol.Options{}), protocol.NewConn(z, protocol.Options{})
	defer ca.Close()
	defer cz.Close()
	go func() {
		for {
			m, err := cz.Recv()
			if err != nil {
				return
			}
			p := m.(*protocol.Ping)
			if cz.Send(&protocol.Pong{Seq: p.Seq, Time: p.Time}) != nil {
				return
			}
		}
	}()
	t0 := time.Now()
	for i := range n {
		if err := ca.Send(&protocol.Ping{Seq: uint64(i)}); err != nil {
			b.Fatal(err)
		}
		if _, err := ca.Recv(); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(t0) / time.Duration(n)
}

func socketPair(path string) (net.Conn, net.Conn, error) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() { c, err := ln.Accept(); ch <- res{c, err} }()
	a, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		return nil, nil, err
	}
	r := <-ch
	return a, r.c, r.err
}

// BenchmarkTaskRoundTrip sends tasks to an echo handler in an SDK session
// over a real Unix socket and waits for each reply: one at a time (seq),
// and 64 in flight (inflight64, reported per task). The anchor is a raw
// protocol ping-pong measured in the same run; x_raw is the task's cost
// over it.
//
//	go test ./sdk -run '^$' -bench TaskRoundTrip -count 5
func BenchmarkTaskRoundTrip(b *testing.B) {
	for _, inFlight := range []int{1, 64} {
		name := "seq"
		if inFlight > 1 {
			name = "inflight" + strconv.Itoa(inFlight)
		}
		b.Run(name, func(b *testing.B) {
			app := sdk.New("bench").Handle(1, func(_ context.Context, t sdk.Task, s sdk.Sink) error {
				return s.Reply(t, sdk.Fields{"data_type": "echo", "content": t.Content})
			})
			c := benchSession(b, app)
			anchor := rawPingPong(b, 20000)
			b.ResetTimer()
			t0 := time.Now()
			taskLoop(b, c, b.N, inFlight)
			per := time.Since(t0) / time.Duration(b.N)
			b.StopTimer()
			b.ReportMetric(float64(anchor.Nanoseconds()), "raw-ns/rt")
			b.ReportMetric(float64(per)/float64(anchor), "x_raw")
		})
	}
}

// taskLoop sends n tasks, keeping inFlight outstanding, and reads their
// replies (the SDK's own pings are skipped).
func taskLoop(b *testing.B, c *protocol.Conn, n, inFlight int) {
	sent, got := 0, 0
	send := func() {
		if err := c.Send(&protocol.Task{ID: 1, Content: "ping", Token: "t" + strconv.Itoa(sent)}); err != nil {
			b.Fatal(err)
		}
		sent++
	}
	for sent < min(inFlight, n) {
		send()
	}
	for got < n {
		m, err := c.Recv()
		if err != nil {
			b.Fatal(err)
		}
		d, ok := m.(*protocol.Data)
		if !ok {
			continue
		}
		for _, r := range d.Records {
			if r.Fields[protocol.FieldTaskStatus] == "" {
				continue
			}
			got++
			if sent < n {
				send()
			}
		}
	}
}

// BenchmarkEmitRecord emits 5-field records from a plugin's Run into a real
// session whose supervisor discards the bytes unread, so what is measured
// is the SDK's cost per record (emit, queue, frame, write). The anchor is
// encoding the same record once with the protocol encoder; x_encode is the
// emit's cost over it.
//
//	go test ./sdk -run '^$' -bench EmitRecord -count 5
func BenchmarkEmitRecord(b *testing.B) {
	fields := sdk.Fields{"data_type": "metric", "host": "web-01", "name": "cpu", "value": "0.42", "unit": "ratio"}
	start, result := make(chan int), make(chan time.Duration)
	app := sdk.New("emit").OnRun(func(sink sdk.Sink, s *sdk.Session) error {
		n := <-start
		t0 := time.Now()
		for range n {
			if err := sink.Emit(fields); err != nil {
				return err
			}
		}
		err := sink.Flush(context.Background())
		result <- time.Since(t0)
		s.Wait()
		return err
	})
	c := benchSession(b, app)
	go func() { _, _ = io.Copy(io.Discard, c.NetConn()) }()
	anchor := sdk.EncodeOnce(b, fields, 200000)
	b.ResetTimer()
	start <- b.N
	per := <-result / time.Duration(b.N)
	b.StopTimer()
	b.ReportMetric(float64(per.Nanoseconds()), "ns/record")
	b.ReportMetric(float64(anchor.Nanoseconds()), "encode-ns/record")
	b.ReportMetric(float64(per)/float64(anchor), "x_encode")
}
