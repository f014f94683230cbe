package control_test

import (
	"context"
	"errors"
	"testing"
	"time"

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
	local, remote := e.Sup.Snapshot(), c.Snapshot()
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
	info := c.Info()
	if want := e.Sup.Info(); info.Name != want.Name || info.PID != want.PID || info.ControlSocket != e.Socket {
		t.Fatalf("info %+v, want %+v", info, want)
	}
}

func TestClientSendTaskAndErrors(t *testing.T) {
	e := echoEnv(t, ct.Options{})
	c := e.Dial()
	ctx := context.Background()
	r, err := c.SendTask(ctx, "echo", 7, "hello over the control socket")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != protocol.StatusOK || r.ID != 7 || r.Plugin != "echo" || len(r.Records) != 1 ||
		r.Records[0].Fields["content"] != "hello over the control socket" || r.RTT <= 0 {
		t.Fatalf("reply %+v", r)
	}
	if _, err := c.SendTask(ctx, "nope", 1, "x"); !errors.Is(err, supervisor.ErrUnknownPlugin) {
		t.Fatalf("unknown plugin: %v", err)
	}
	if err := c.Reload(); !errors.Is(err, supervisor.ErrNoReload) {
		t.Fatalf("reload: %v", err)
	}
	if rtt, err := c.Ping(ctx, "echo.0"); err != nil || rtt <= 0 {
		t.Fatalf("ping: %v %v", rtt, err)
	}
	if err := c.Stop("echo.1"); err != nil {
		t.Fatal(err)
	}
	if st := e.Status("echo.1"); st.State != supervisor.StateStopped {
		t.Fatalf("echo.1 after stop: %s", st.State)
	}
	if _, err := c.SendTask(ctx, "echo.1", 1, "x"); !errors.Is(err, supervisor.ErrNotRunning) {
		t.Fatalf("stopped: %v", err)
	}
	if err := c.Start("echo.1"); err != nil {
		t.Fatal(err)
	}
	before := e.Status("echo.0")
	if err := c.Restart("echo.0"); err != nil {
		t.Fatal(err)
	}
	if st := e.Status("echo.0"); st.State != supervisor.StateRunning || st.PID == before.PID {
		t.Fatalf("echo.0 after restart: %s pid %d (was %d)", st.State, st.PID, before.PID)
	}
	lines, err := c.Logs("echo", 10)
	if err != nil {
		t.Fatal(err)
	}
	_ = lines // echo writes nothing to stdout/stderr; the call itself is the test
}

func TestClientSubscribe(t *testing.T) {
	e := echoEnv(t, ct.Options{})
	c := e.Dial()
	events, cancel := c.Subscribe(1000)
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
