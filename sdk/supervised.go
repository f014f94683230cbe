package sdk

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugvisor/plugvisor/internal/latest"
	"github.com/plugvisor/plugvisor/protocol"
)

// maxSocketPath is the longest Unix socket path Linux accepts (sun_path is
// 108 bytes including the terminating NUL).
const maxSocketPath = 107

func runSupervised(ctx context.Context, p Plugin, sess *Session, router Router, version string, o options) error {
	hello := &protocol.Hello{
		Versions: protocol.Versions(),
		Name:     sess.name,
		Version:  version,
		PID:      os.Getpid(),
		Instance: sess.instance,
	}
	c, w, err := handshake(ctx, o.env.Socket, hello, o.handshake)
	if err != nil {
		return err
	}
	sess.supervisor, sess.heartbeat = w.Supervisor, w.Heartbeat
	// The supervisor's announced limit (0: the default) is the one in force
	// both ways: it accepts frames up to it and may send tasks up to it.
	c.SetMaxFrame(int(min(w.MaxFrame, math.MaxInt32)))
	tr := &supervised{c: c, heartbeat: w.Heartbeat, log: o.log, quit: make(chan struct{}), pongs: latest.New[protocol.Pong](), clock: o.clock}
	tr.epoch = tr.clock.Now() // the welcome was just heard
	return newRunner(p, o, sess, router, c.MaxFrame(), tr).run(ctx)
}

// handshake connects, sends hello and waits for the welcome.
func handshake(ctx context.Context, path string, hello *protocol.Hello, timeout time.Duration) (*protocol.Conn, *protocol.Welcome, error) {
	if len(path) > maxSocketPath {
		return nil, nil, fmt.Errorf("socket path %q is %d bytes; Unix socket paths are limited to %d bytes on Linux", path, len(path), maxSocketPath)
	}
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to the supervisor: %w", err)
	}
	// A cancelled ctx must not leave us waiting for a welcome.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	c := protocol.NewConn(nc, protocol.Options{})
	c.SetReadTimeout(timeout)
	w, err := greet(c, hello)
	if !stop() && err == nil {
		err = fmt.Errorf("handshake: %w", context.Cause(ctx))
	}
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, w, nil
}

func greet(c *protocol.Conn, hello *protocol.Hello) (*protocol.Welcome, error) {
	if err := c.Send(hello); err != nil {
		return nil, fmt.Errorf("send hello: %w", err)
	}
	m, err := c.Recv()
	if err != nil {
		if protocol.IsTimeout(err) {
			return nil, fmt.Errorf("no welcome from the supervisor: %w", err)
		}
		return nil, fmt.Errorf("wait for welcome: %w", err)
	}
	switch m := m.(type) {
	case *protocol.Welcome:
		if !slices.Contains(hello.Versions, m.Protocol) {
			return nil, fmt.Errorf("the supervisor chose protocol v%d, which this SDK does not speak (%v)", m.Protocol, hello.Versions)
		}
		return m, nil
	case *protocol.Reject:
		return nil, &RejectedError{Code: m.Code, Reason: m.Reason, Versions: m.Versions}
	}
	return nil, fmt.Errorf("expected welcome or reject, got %s", m.Kind())
}

// supervised is the transport to a real supervisor.
type supervised struct {
	c         *protocol.Conn
	heartbeat time.Duration
	log       *slog.Logger
	r         *runner

	data      protocol.EncodedData // the frame being written; one writer at a time
	clock     clock
	epoch     time.Time                 // lastHeard counts from it, on clock's monotonic time
	lastHeard atomic.Int64              // since epoch, when the last frame arrived
	beat      clockTimer                // watchLoop's timer; nil with heartbeats off
	closing   atomic.Bool               // we closed the Conn: read and write errors are not losses
	pongs     latest.Box[protocol.Pong] // the latest ping to answer: it answers the earlier ones too
	quit      chan struct{}
	quitOnce  sync.Once
	wg        sync.WaitGroup
}

func (t *supervised) start(r *runner) {
	t.r = r
	// Clear the handshake's deadline, and set none: the heartbeat's timer
	// watches the silence (see heartbeat.go).
	_ = t.c.NetConn().SetReadDeadline(time.Time{})
	t.c.SetReadTimeout(0)
	if t.heartbeat > 0 {
		t.beat = t.clock.NewTimer(pingAt(t.heartbeat))
	}
	t.wg.Add(2)
	go t.readLoop()
	go t.pongLoop()
	if t.beat != nil {
		t.wg.Add(1)
		go t.watchLoop()
	}
}

// readLoop never writes and never blocks on anything but the socket: pings
// go to pongLoop, tasks to the dispatcher, which answers at once what it
// cannot run. So it keeps reading while the writer is stuck in a large send
// to a supervisor that is itself stuck sending to us (crossed writes), and
// both sides drain.
func (t *supervised) readLoop() {
	defer t.wg.Done()
	for {
		m, err := t.c.Recv()
		if err != nil {
			t.readFailed(err)
			return
		}
		t.heard()
		if err := t.receive(m); err != nil {
			t.r.lose(err)
			return
		}
	}
}

func (t *supervised) readFailed(err error) {
	if t.closing.Load() {
		return
	}
	if protocol.IsTimeout(err) {
		err = fmt.Errorf("nothing from the supervisor for %v (heartbeat %v): %w", deadAfter(t.heartbeat), t.heartbeat, err)
	} else {
		err = fmt.Errorf("read: %w", err)
	}
	t.r.lose(err)
}

func (t *supervised) receive(m protocol.Message) error {
	switch m := m.(type) {
	case *protocol.Ping:
		t.answer(protocol.Pong{Seq: m.Seq, Time: m.Time})
	case *protocol.Pong:
		if m.Time > 0 {
			t.r.sess.setRTT(time.Since(time.Unix(0, m.Time)))
		}
	case *protocol.Task:
		t.r.tasks.submit(newTask(m.ID, m.Content, m.Token))
	case *protocol.Shutdown:
		reason := "shutdown requested"
		if m.Reason != "" {
			reason += ": " + m.Reason
		}
		t.r.stop(ending{reason: reason, grace: m.Grace})
	default:
		t.log.Warn("unexpected message from the supervisor; ignored", "kind", m.Kind())
	}
	return nil
}

// answer answers a ping from the read loop itself when the socket takes
// the pong at once (protocol.Conn.TrySend), so an idle plugin's ping wakes
// one thread, not two; otherwise, or while an earlier answer waits, the
// pong goes to pongLoop, which sends the latest.
func (t *supervised) answer(p protocol.Pong) {
	if len(t.pongs.C()) == 0 {
		sent, err := t.c.TrySend(&p)
		if err != nil {
			t.sendFailed("answer ping", err)
		}
		if sent || err != nil {
			return
		}
	}
	t.pongs.Put(p)
}

func (t *supervised) pongLoop() {
	defer t.wg.Done()
	for {
		var p protocol.Pong
		select {
		case p = <-t.pongs.C():
		case <-t.quit:
			return
		}
		if err := t.c.Send(&p); err != nil {
			t.sendFailed("answer ping", err)
			return
		}
	}
}

// sendFailed reports a failed send of our own (not a batch) as a loss,
// unless we closed the Conn.
func (t *supervised) sendFailed(what string, err error) {
	if !t.closing.Load() {
		t.r.lose(fmt.Errorf("%s: %w", what, err))
	}
}

func (t *supervised) write(batch []protocol.EncodedRecord) error {
	t.data.Records = batch
	err := t.c.Send(&t.data)
	t.data.Records = nil
	if err != nil {
		return fmt.Errorf("send records: %w", err)
	}
	return nil
}

// direct is true: a socket write is bounded by the shutdown's deadline and
// ends when the connection is lost.
func (t *supervised) direct() bool { return true }

// bound works because the Conn has no WriteTimeout of its own, so it never
// overrides this deadline.
func (t *supervised) bound(deadline time.Time) { _ = t.c.NetConn().SetWriteDeadline(deadline) }

func (t *supervised) abort() {
	t.closing.Store(true)
	t.c.Close()
}

func (t *supervised) finish(goodbye string, sayIt bool) {
	if sayIt {
		if err := t.c.Send(&protocol.Goodbye{Reason: goodbye}); err != nil {
			t.log.Warn("goodbye not sent", "err", err)
		}
	}
	t.closing.Store(true)
	t.quitOnce.Do(func() { close(t.quit) })
	t.c.Close()
	t.wg.Wait()
}

func (t *supervised) lostError(err error) error { return &ConnLostError{Err: err} }
