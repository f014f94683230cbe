package protocol_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
)

// countingConn is a real socket whose Writes are counted. With a gate, its
// first Write waits until the gate is closed, so a test can line senders up
// behind it.
type countingConn struct {
	net.Conn
	writes  atomic.Int64
	gate    chan struct{}
	entered chan struct{}
}

func (c *countingConn) Write(p []byte) (int, error) {
	if c.writes.Add(1) == 1 && c.gate != nil {
		close(c.entered)
		<-c.gate
	}
	return c.Conn.Write(p)
}

func recvPing(t *testing.T, c *protocol.Conn) *protocol.Ping {
	t.Helper()
	m, err := c.Recv()
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	p, ok := m.(*protocol.Ping)
	if !ok {
		t.Fatalf("Recv: got %#v, want a ping", m)
	}
	return p
}

// TestBurstCoalesces: 64 senders queued behind one write leave in one more
// write, not 63.
func TestBurstCoalesces(t *testing.T) {
	const n = 64
	client, srvRaw := newServer(t).dialRaw(t)
	cc := &countingConn{Conn: client, gate: make(chan struct{}), entered: make(chan struct{})}
	c := protocol.NewConn(cc, protocol.Options{})
	srv := protocol.NewConn(srvRaw, protocol.Options{ReadTimeout: hangGuard})

	var wg sync.WaitGroup
	send := func(i int) {
		defer wg.Done()
		if err := c.Send(&protocol.Ping{Seq: uint64(i)}); err != nil {
			t.Error(err)
		}
	}
	wg.Add(1)
	go send(0)
	<-cc.entered // sender 0 is inside its write, holding the Conn
	for i := 1; i < n; i++ {
		wg.Add(1)
		go send(i)
	}
	for protocol.SendersWaiting(c) < n-1 {
		runtime.Gosched()
	}
	close(cc.gate)
	wg.Wait()

	seen := map[uint64]bool{}
	for range n {
		seen[recvPing(t, srv).Seq] = true
	}
	if len(seen) != n {
		t.Fatalf("received %d distinct pings, want %d", len(seen), n)
	}
	if w := cc.writes.Load(); w != 2 {
		t.Errorf("%d sends took %d writes, want 2: the first, then one for the %d queued behind it", n, w, n-1)
	}
}

// TestLoneSendIsFlushed: a single Send reaches the peer with no later Send
// to push it out, every time.
func TestLoneSendIsFlushed(t *testing.T) {
	client, srvRaw := newServer(t).dialRaw(t)
	cc := &countingConn{Conn: client}
	c := protocol.NewConn(cc, protocol.Options{})
	srv := protocol.NewConn(srvRaw, protocol.Options{ReadTimeout: hangGuard})
	for i := range 10 {
		if err := c.Send(&protocol.Ping{Seq: uint64(i)}); err != nil {
			t.Fatal(err)
		}
		if p := recvPing(t, srv); p.Seq != uint64(i) {
			t.Fatalf("got ping %d, want %d", p.Seq, i)
		}
	}
	if w := cc.writes.Load(); w != 10 {
		t.Errorf("10 lone sends took %d writes, want 10", w)
	}
}

// TestRefusedSendStillFlushes: when the last sender of a burst has its own
// message refused, it still flushes the frames buffered by those before it.
func TestRefusedSendStillFlushes(t *testing.T) {
	for _, refused := range []struct {
		name string
		msg  protocol.Message
		code protocol.ErrorCode
	}{
		{"too large", &protocol.Goodbye{Reason: strings.Repeat("x", 300)}, protocol.ErrFrameTooLarge},
		{"invalid", &protocol.Data{Records: []protocol.Record{{Fields: map[string]string{"core": "1"}}}}, protocol.ErrMissingField},
	} {
		t.Run(refused.name, func(t *testing.T) {
			c, srv := connPair(t, protocol.Options{MaxFrame: 256, ReadTimeout: hangGuard})
			release := protocol.HoldSenderSlot(c) // another sender is queued
			if err := c.Send(&protocol.Ping{Seq: 7}); err != nil {
				t.Fatal(err)
			}
			release() // ... and turns out to be this refused one
			if err := c.Send(refused.msg); !errors.Is(err, refused.code) {
				t.Fatalf("Send: %v, want %v", err, refused.code)
			}
			if p := recvPing(t, srv); p.Seq != 7 {
				t.Fatalf("got ping %d, want 7", p.Seq)
			}
		})
	}
}

// TestSendRefusesOversizedPayload: Send will not write a payload over the
// Conn's MaxFrame, writes nothing of it, and the Conn stays usable.
func TestSendRefusesOversizedPayload(t *testing.T) {
	const limit = 1024
	c, srv := connPair(t, protocol.Options{MaxFrame: limit, ReadTimeout: hangGuard})
	var recs []protocol.Record
	for i := range 20 {
		recs = append(recs, protocol.Record{Timestamp: int64(i), Fields: map[string]string{"data_type": "cpu", "pad": strings.Repeat("p", 60)}})
	}
	big := &protocol.Data{Records: recs}
	payload, err := protocol.Append(nil, big)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Send(big)
	checkProtocolError(t, err, protocol.ErrFrameTooLarge, "",
		fmt.Sprintf("protocol: frame too large: data: encoded payload of %d bytes exceeds the limit of %d; send fewer records per frame", len(payload), limit))
	if st := c.Stats(); st.FramesOut != 0 || st.BytesOut != 0 || st.RecordsOut != 0 {
		t.Errorf("a refused frame was counted: %+v", st)
	}
	small := &protocol.Data{Records: recs[:5]}
	if err := c.Send(small); err != nil {
		t.Fatalf("a frame under the limit: %v", err)
	}
	m, err := srv.Recv()
	if d, ok := m.(*protocol.Data); err != nil || !ok || len(d.Records) != 5 {
		t.Fatalf("the peer's first frame is %#v, %v; want the 5-record data", m, err)
	}
}

// TestSendRefusesInvalidMessage: what the peer would reject is refused at
// Send with the decoder's error, and nothing is written.
func TestSendRefusesInvalidMessage(t *testing.T) {
	c, srv := connPair(t, protocol.Options{ReadTimeout: hangGuard})
	for _, bad := range []struct {
		msg   protocol.Message
		code  protocol.ErrorCode
		field string
	}{
		{&protocol.Data{Records: []protocol.Record{{Fields: map[string]string{"data_type": "cpu"}}, {Fields: map[string]string{"data_type": ""}}}}, protocol.ErrMalformed, "records[1].fields.data_type"},
		{&protocol.Data{Records: []protocol.Record{{}}}, protocol.ErrMissingField, "records[0].fields.data_type"},
		{&protocol.Hello{Name: "cpu", PID: 1}, protocol.ErrMissingField, "versions"},
		{&protocol.Hello{Versions: []uint16{1}, PID: 1}, protocol.ErrMissingField, "name"},
		{&protocol.Hello{Versions: []uint16{1}, Name: "cpu", PID: -1}, protocol.ErrMalformed, "pid"},
		{&protocol.Task{ID: 1}, protocol.ErrMissingField, "token"},
		{&protocol.Welcome{Protocol: 1, Heartbeat: -time.Second}, protocol.ErrMalformed, "heartbeat_ms"},
		{&protocol.Shutdown{Grace: 50 * 24 * time.Hour}, protocol.ErrMalformed, "grace_ms"},
	} {
		checkProtocolError(t, c.Send(bad.msg), bad.code, bad.field, "not sent: the peer would reject it")
	}
	if err := c.Send(&protocol.Ping{Seq: 1}); err != nil {
		t.Fatal(err)
	}
	if p := recvPing(t, srv); p.Seq != 1 {
		t.Fatalf("the peer's first frame is ping %d, want 1", p.Seq)
	}
	if _, err := protocol.Append(nil, nil); err == nil {
		t.Error("Append(nil) succeeded")
	}
}

// TestConcurrentSend: many goroutines sending at once deliver every frame
// intact, each sender's frames in its order. Run it with -race.
func TestConcurrentSend(t *testing.T) {
	const senders, each = 8, 300
	c, srv := connPair(t, protocol.Options{ReadTimeout: hangGuard})
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				var m protocol.Message = &protocol.Data{Records: []protocol.Record{{
					Timestamp: int64(g*each + i),
					Fields: map[string]string{"data_type": "burst", "g": strconv.Itoa(g), "i": strconv.Itoa(i),
						"pad": strings.Repeat(string(rune('a'+g)), i%200)},
				}}}
				if i%10 == 0 {
					m = &protocol.Ping{Seq: uint64(g), Time: int64(i)}
				}
				if err := c.Send(m); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	next := make([]int, senders)
	for range senders * each {
		m, err := srv.Recv()
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		var g, i int
		switch m := m.(type) {
		case *protocol.Ping:
			g, i = int(m.Seq), int(m.Time)
		case *protocol.Data:
			f := m.Records[0].Fields
			g, _ = strconv.Atoi(f["g"])
			i, _ = strconv.Atoi(f["i"])
			if f["pad"] != strings.Repeat(string(rune('a'+g)), i%200) || m.Records[0].Timestamp != int64(g*each+i) {
				t.Fatalf("sender %d frame %d arrived damaged: %v", g, i, m.Records[0])
			}
		}
		if g < 0 || g >= senders || i != next[g] {
			t.Fatalf("sender %d: got frame %d, want %d", g, i, next[g])
		}
		next[g]++
	}
	wg.Wait()
	cs, ss := c.Stats(), srv.Stats()
	if cs.FramesOut != senders*each || ss.FramesIn != cs.FramesOut || ss.BytesIn != cs.BytesOut || ss.RecordsIn != cs.RecordsOut {
		t.Errorf("sender counted %+v, receiver %+v", cs, ss)
	}
}

// TestReadTimeout: a timeout before a frame has begun leaves the stream
// intact (even with part of the length prefix read); a stall inside a
// payload ends the Conn for reading.
func TestReadTimeout(t *testing.T) {
	client, srvRaw := newServer(t).dialRaw(t)
	srv := protocol.NewConn(srvRaw, protocol.Options{ReadTimeout: 20 * time.Millisecond})
	f := pingFrame(t)
	expectTimeout := func(what string) error {
		t.Helper()
		srv.SetReadTimeout(20 * time.Millisecond)
		_, err := srv.Recv()
		if !protocol.IsTimeout(err) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("%s: Recv returned %v, want a timeout", what, err)
		}
		return err
	}
	expectPing := func(what string) {
		t.Helper()
		srv.SetReadTimeout(hangGuard)
		if p := recvPing(t, srv); p.Seq != 1 {
			t.Fatalf("%s: got ping %d", what, p.Seq)
		}
	}

	expectTimeout("idle")
	client.Write(f)
	expectPing("after an idle timeout")

	client.Write(f[:2])
	expectTimeout("inside the length prefix")
	client.Write(f[2:])
	expectPing("after a timeout inside the length prefix")

	client.Write(f[:protocol.HeaderSize+3])
	err := expectTimeout("inside the payload")
	if !strings.Contains(err.Error(), "protocol: peer stalled inside a frame") {
		t.Errorf("error %q does not say the peer stalled inside a frame", err)
	}
	client.Write(f[protocol.HeaderSize+3:])
	client.Write(f)
	srv.SetReadTimeout(hangGuard)
	if _, again := srv.Recv(); again == nil || again.Error() != err.Error() {
		t.Fatalf("after a stall inside a frame Recv returned %v, want the same error again", again)
	}
	if protocol.IsTimeout(errors.New("x")) || protocol.IsTimeout(nil) {
		t.Error("IsTimeout is true for errors that are not timeouts")
	}
}

// TestWriteTimeout: a peer that stops reading makes Send fail with a
// timeout once the socket buffer is full, and every later Send fails too.
func TestWriteTimeout(t *testing.T) {
	c, _ := connPair(t, protocol.Options{WriteTimeout: 20 * time.Millisecond})
	var recs []protocol.Record
	for range 100 {
		recs = append(recs, protocol.Record{Fields: map[string]string{"data_type": "x", "pad": strings.Repeat("p", 1000)}})
	}
	big := &protocol.Data{Records: recs}
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = c.Send(big)
	}
	if !protocol.IsTimeout(err) || !strings.Contains(err.Error(), "send data") {
		t.Fatalf("Send to a peer that never reads: %v, want a timeout", err)
	}
	if again := c.Send(&protocol.Ping{}); again == nil || again.Error() != err.Error() {
		t.Fatalf("Send after a write timeout: %v, want the same error", again)
	}
}

// TestStats: the counters are exact on both sides, refused sends count
// nothing, and a malformed frame counts as a frame in but not as records.
func TestStats(t *testing.T) {
	c, srv := connPair(t, protocol.Options{ReadTimeout: hangGuard})
	rec := func(n int) []protocol.Record {
		var rs []protocol.Record
		for i := range n {
			rs = append(rs, protocol.Record{Timestamp: int64(i), Fields: map[string]string{"data_type": "cpu", "core": strconv.Itoa(i)}})
		}
		return rs
	}
	// Records encoded ahead of time (the SDK's) count as records too.
	var encoded []protocol.EncodedRecord
	var scratch []byte
	for _, r := range rec(2) {
		e, s, err := protocol.EncodeRecord(scratch, r.Timestamp, "", r.Fields, "")
		if err != nil {
			t.Fatal(err)
		}
		encoded, scratch = append(encoded, e), s
	}
	up := []protocol.Message{
		&protocol.Hello{Versions: []uint16{1}, Name: "cpu", PID: 1},
		&protocol.Data{Records: rec(3)},
		&protocol.EncodedData{Records: encoded},
		&protocol.Ping{Seq: 1},
		&protocol.Goodbye{},
	}
	down := []protocol.Message{&protocol.Welcome{Protocol: 1, Heartbeat: time.Second}, &protocol.Pong{Seq: 1}}
	size := func(ms []protocol.Message) uint64 {
		var n int
		for _, m := range ms {
			f, err := protocol.AppendFrame(nil, m)
			if err != nil {
				t.Fatal(err)
			}
			n += len(f)
		}
		return uint64(n)
	}
	relay := func(from, to *protocol.Conn, ms []protocol.Message) {
		for _, m := range ms {
			if err := from.Send(m); err != nil {
				t.Fatal(err)
			}
			if _, err := to.Recv(); err != nil {
				t.Fatal(err)
			}
		}
	}
	relay(c, srv, up)
	relay(srv, c, down)
	if err := c.Send(&protocol.Data{Records: []protocol.Record{{}}}); err == nil {
		t.Fatal("an invalid record was sent")
	}
	wantClient := protocol.Stats{FramesOut: 5, BytesOut: size(up), RecordsOut: 5, FramesIn: 2, BytesIn: size(down)}
	wantSrv := protocol.Stats{FramesIn: 5, BytesIn: size(up), RecordsIn: 5, FramesOut: 2, BytesOut: size(down)}
	if got := c.Stats(); got != wantClient {
		t.Errorf("client stats %+v, want %+v", got, wantClient)
	}
	if got := srv.Stats(); got != wantSrv {
		t.Errorf("server stats %+v, want %+v", got, wantSrv)
	}

	bad := frame(enc(t, omap{{"kind", "data"}, {"records", []any{recordMap("")}}}))
	c.NetConn().Write(bad)
	if _, err := srv.Recv(); !errors.Is(err, protocol.ErrMalformed) {
		t.Fatalf("Recv of a malformed frame: %v", err)
	}
	wantSrv.FramesIn++
	wantSrv.BytesIn += uint64(len(bad))
	if got := srv.Stats(); got != wantSrv {
		t.Errorf("after a malformed frame: server stats %+v, want %+v", got, wantSrv)
	}
	if srv.MaxFrame() != protocol.DefaultMaxFrame {
		t.Errorf("MaxFrame() = %d, want the default %d", srv.MaxFrame(), protocol.DefaultMaxFrame)
	}
}

// TestRecvAfterClose: the peer closing between frames gives io.EOF, again
// on every later Recv; Close may be called twice.
func TestRecvAfterClose(t *testing.T) {
	c, srv := connPair(t, protocol.Options{ReadTimeout: hangGuard})
	if err := c.Send(&protocol.Goodbye{Reason: "bye"}); err != nil {
		t.Fatal(err)
	}
	first, second := c.Close(), c.Close()
	if first != nil || second != first {
		t.Fatalf("Close twice: %v, then %v", first, second)
	}
	if m, err := srv.Recv(); err != nil || m.Kind() != protocol.KindGoodbye {
		t.Fatalf("the frame sent before Close: %#v, %v", m, err)
	}
	for range 2 {
		if _, err := srv.Recv(); err != io.EOF {
			t.Fatalf("Recv after the peer closed: %v, want io.EOF", err)
		}
	}
	if err := c.Send(&protocol.Ping{}); err == nil {
		t.Fatal("Send on a closed Conn succeeded")
	}
}

// SetMaxFrame raises the limit for frames already on their way: a peer that
// announced a larger max_frame may use it.
func TestSetMaxFrameRaisesBothWays(t *testing.T) {
	a, b := newServer(t).dialRaw(t)
	ca, cb := protocol.NewConn(a, protocol.Options{MaxFrame: 1024}), protocol.NewConn(b, protocol.Options{MaxFrame: 1024})
	big := &protocol.Task{ID: 1, Token: "t", Content: strings.Repeat("x", 4000)}
	if err := ca.Send(big); !errors.Is(err, protocol.ErrFrameTooLarge) {
		t.Fatalf("send over the limit: %v", err)
	}
	ca.SetMaxFrame(8192)
	cb.SetMaxFrame(8192)
	if ca.MaxFrame() != 8192 {
		t.Fatalf("MaxFrame %d", ca.MaxFrame())
	}
	go ca.Send(big)
	m, err := cb.Recv()
	if err != nil || m.(*protocol.Task).Content != big.Content {
		t.Fatalf("recv within the raised limit: %v", err)
	}
	cb.SetMaxFrame(0)
	if cb.MaxFrame() != protocol.DefaultMaxFrame {
		t.Fatalf("SetMaxFrame(0) = %d", cb.MaxFrame())
	}
}
