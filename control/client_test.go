package control_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/control"
	ct "github.com/plugvisor/plugvisor/control/controltest"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

func echoEnv(t *testing.T, opts ct.Options) *ct.Env {
	e := ct.Start(t, ct.Plugin(t, "echo", ct.Bin("echo"), "instances = 2")+ct.Plugin(t, "ticker", ct.Bin("ticker"), `args = ["--interval", "20ms"]`), opts)
	e.WaitState("echo.0", supervisor.StateRunning)
	e.WaitState("echo.1", supervisor.StateRunning)
	e.WaitState("ticker", supervisor.StateRunning)
	return e
}

// TestAttachSameSnapshot: a remote client sees what the embedded API sees.
func TestAttachSameSnapshot(t *testing.T) {
	e := echoEnv(t, ct.Options{})
	c := e.Dial()
	local, remote := ct.SnapshotOf(t, e.Sup), ct.SnapshotOf(t, c)
	if len(remote) != len(local) || len(local) != 3 {
		t.Fatalf("remote snapshot has %d instances, local %d", len(remote), len(local))
	}
	for i := range local {
		l, r := local[i], remote[i]
		if l.Name != r.Name || l.Instance != r.Instance || l.State != r.State || l.PID != r.PID ||
			l.SHA256 != r.SHA256 || l.Exec != r.Exec || !l.Started.Equal(r.Started) {
			t.Errorf("instance %d: local %s/%s %s pid %d, remote %s/%s %s pid %d", i, l.Name, l.Instance, l.State, l.PID, r.Name, r.Instance, r.State, r.PID)
		}
	}
	info := ct.InfoOf(t, c)
	if want := ct.InfoOf(t, e.Sup); info.Name != want.Name || info.PID != want.PID || info.ControlSocket != e.Socket {
		t.Fatalf("info %+v, want %+v", info, want)
	}
}

func TestClientSendTaskAndErrors(t *testing.T) {
	e := echoEnv(t, ct.Options{})
	c := e.Dial()
	ctx := context.Background()
	r, err := c.SendTask(ctx, supervisor.TaskRequest{Plugin: "echo", ID: 7, Content: "hello over the control socket"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != protocol.StatusOK || r.ID != 7 || r.Plugin != "echo" || len(r.Records) != 1 ||
		r.Records[0].Fields["content"] != "hello over the control socket" || r.RTT <= 0 {
		t.Fatalf("reply %+v", r)
	}
	if _, err := c.SendTask(ctx, supervisor.TaskRequest{Plugin: "nope", ID: 1, Content: "x"}); !errors.Is(err, supervisor.ErrUnknownPlugin) {
		t.Fatalf("unknown plugin: %v", err)
	}
	if err := c.Reload(context.Background()); !errors.Is(err, supervisor.ErrNoReload) {
		t.Fatalf("reload: %v", err)
	}
	if rtt, err := c.Ping(ctx, "echo.0"); err != nil || rtt <= 0 {
		t.Fatalf("ping: %v %v", rtt, err)
	}
	if err := c.Stop(context.Background(), "echo.1"); err != nil {
		t.Fatal(err)
	}
	if st := e.Status("echo.1"); st.State != supervisor.StateStopped {
		t.Fatalf("echo.1 after stop: %s", st.State)
	}
	if _, err := c.SendTask(ctx, supervisor.TaskRequest{Plugin: "echo.1", ID: 1, Content: "x"}); !errors.Is(err, supervisor.ErrNotRunning) {
		t.Fatalf("stopped: %v", err)
	}
	if err := c.Start(context.Background(), "echo.1"); err != nil {
		t.Fatal(err)
	}
	before := e.Status("echo.0")
	if err := c.Restart(context.Background(), "echo.0"); err != nil {
		t.Fatal(err)
	}
	if st := e.Status("echo.0"); st.State != supervisor.StateRunning || st.PID == before.PID {
		t.Fatalf("echo.0 after restart: %s pid %d (was %d)", st.State, st.PID, before.PID)
	}
	lines, err := c.Logs(context.Background(), "echo", 10)
	if err != nil {
		t.Fatal(err)
	}
	_ = lines // echo writes nothing to stdout/stderr; the call itself is the test
}

func TestClientSubscribe(t *testing.T) {
	e := echoEnv(t, ct.Options{})
	c := e.Dial()
	events, cancel, _ := c.Subscribe(context.Background(), 1000)
	var records, heartbeats int
	ct.WaitUntil(t, "ticker records and heartbeats", 20*time.Second, func() bool {
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatal("subscription closed")
				}
				switch ev.Type {
				case supervisor.EventRecords:
					records += len(ev.Records)
				case supervisor.EventHeartbeat:
					heartbeats++
				}
				continue
			default:
			}
			return records >= 5 && heartbeats >= 2
		}
	})
	cancel()
	for range events { // drains what was queued, then closes
	}
	ct.WaitUntil(t, "server-side subscription to end", 10*time.Second, func() bool { return e.Server.Stats().Subscriptions == 0 })
}

// TestLifecycleCallsHonourContext: a server that never answers Start, Stop,
// Restart or Reload must not hang a caller past its context. (The real
// engine's lifecycle operations always end, so a fake API stalls them.)
func TestLifecycleCallsHonourContext(t *testing.T) {
	f := &fakeAPI{stall: make(chan struct{})}
	socket, _ := ct.ServeAPI(t, f, nil)
	c := ct.DialSocket(t, socket)
	t.Cleanup(func() { close(f.stall) }) // before the server's cleanup waits for its requests
	for _, tc := range []struct {
		what string
		call func(context.Context) error
	}{
		{"start p", func(ctx context.Context) error { return c.Start(ctx, "p") }},
		{"stop p", func(ctx context.Context) error { return c.Stop(ctx, "p") }},
		{"restart p", func(ctx context.Context) error { return c.Restart(ctx, "p") }},
		{"reload", c.Reload},
	} {
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			done <- tc.call(ctx)
		}()
		select {
		case err := <-done:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%s on a stalled server: %v", tc.what, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s on a stalled server: still waiting after 10s", tc.what)
		}
	}
	if snap, err := c.Snapshot(context.Background()); err != nil || len(snap) != 1 {
		t.Fatalf("the connection after the timeouts: %v %v", snap, err)
	}
}

// TestRequestTooLargeIsNotConnectionLoss: a request too large for a frame
// is refused on the client's side with that reason; the connection is
// fine and stays up.
func TestRequestTooLargeIsNotConnectionLoss(t *testing.T) {
	e := echoEnv(t, ct.Options{})
	c := e.Dial()
	_, err := c.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "echo", ID: 1, Content: strings.Repeat("x", protocol.DefaultMaxFrame)})
	if !errors.Is(err, control.ErrFrameTooLarge) || errors.Is(err, control.ErrConnClosed) ||
		!strings.Contains(err.Error(), "send_task request not sent: frame too large") {
		t.Fatalf("a task too large to send: %v", err)
	}
	if c.Err() != nil {
		t.Fatalf("the connection ended: %v", c.Err())
	}
	if r, err := c.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "echo", ID: 1, Content: "small"}); err != nil || r.Status != protocol.StatusOK {
		t.Fatalf("the next task: %+v %v", r, err)
	}
}

// TestLogsResultFitsAFrame: a logs result that would exceed the frame limit
// (a thousand lines of up to 16 KiB would) keeps the newest lines that fit
// instead of failing. A small frame limit stands in for long lines.
func TestLogsResultFitsAFrame(t *testing.T) {
	const maxFrame = 4096
	e := ct.Start(t, ct.Plugin(t, "noisy", ct.Bin("chaos"), `args = ["--stderr-every", "2ms"]`),
		ct.Options{Server: func(s *control.Server) { s.MaxFrame = maxFrame }})
	e.WaitState("noisy", supervisor.StateRunning)
	ct.WaitUntil(t, "200 stderr lines", 20*time.Second, func() bool {
		l, _ := e.Sup.Logs(context.Background(), "noisy", 0)
		return len(l) >= 200
	})
	if err := e.Sup.Stop(context.Background(), "noisy"); err != nil { // no more lines: the result can be compared
		t.Fatal(err)
	}
	all, err := e.Sup.Logs(context.Background(), "noisy", 0)
	if err != nil {
		t.Fatal(err)
	}
	c := e.Dial()
	got, err := c.Logs(context.Background(), "noisy", 0)
	if err != nil {
		t.Fatalf("logs beyond a frame: %v", err)
	}
	if len(got) == 0 || len(got) >= len(all) {
		t.Fatalf("got %d of %d lines, want the newest that fit in %d bytes", len(got), len(all), maxFrame)
	}
	for i, l := range got {
		if w := all[len(all)-len(got)+i]; l.Text != w.Text || !l.Time.Equal(w.Time) {
			t.Fatalf("line %d is %q, want %q: not the newest lines, in order", i, l.Text, w.Text)
		}
	}
	f, err := control.Encode(&control.Response{Kind: control.KindResponse, ID: 1, Result: got})
	if err != nil || len(f) > maxFrame+protocol.HeaderSize || len(f) < maxFrame/2 {
		t.Fatalf("%d lines make a frame of %d bytes (%v), want it to fill much of %d", len(got), len(f), err, maxFrame)
	}
}
