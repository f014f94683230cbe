package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/plugvisor/plugvisor/control"
	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
	st "github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// testPrefix is the tests' subject prefix, dotted as a real one may be.
const testPrefix = "pv.test"

func subjectsOf(host string) fleet.Subjects { return fleet.Subjects{Prefix: testPrefix, Host: host} }

// host is a real engine served over NATS as one host of a fleet, and a
// client for it on a connection of its own.
type host struct {
	eng    *st.Env
	srv    *testServer
	subj   fleet.Subjects
	client *fleet.Client
	stop   func() error
}

// startHost runs the engine with echo and a ticker that logs, serves it as
// host h1 and waits until both plugins run.
func startHost(t testing.TB, configure func(*fleet.ServiceOptions)) *host {
	t.Helper()
	eng := st.Start(t, st.Plugin(t, "echo", st.Bin("echo"), "")+
		st.Plugin(t, "ticker", st.Bin("ticker"), `args = ["--interval", "20ms", "--log"]`), st.Options{})
	srv := startServer(t)
	h := &host{eng: eng, srv: srv, subj: subjectsOf("h1")}
	h.stop = serve(t, srv.connect(t), eng.Sup, h.subj, configure)
	h.client = fleet.NewClient(fleet.ClientOptions{Conn: srv.connect(t), Subjects: h.subj})
	eng.WaitState("echo", supervisor.StateRunning)
	eng.WaitState("ticker", supervisor.StateRunning)
	return h
}

// serve serves api as the host subj names; cleanup stops it.
func serve(t testing.TB, nc *nats.Conn, api supervisor.API, subj fleet.Subjects, configure func(*fleet.ServiceOptions)) func() error {
	t.Helper()
	o := fleet.ServiceOptions{Conn: nc, API: api, Subjects: subj, Version: "v1.2.3", Labels: map[string]string{"role": "test"}}
	if configure != nil {
		configure(&o)
	}
	stop, err := fleet.Serve(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return stop
}

func TestClientInfoAndSnapshot(t *testing.T) {
	h := startHost(t, nil)
	info, want := st.InfoOf(t, h.client), st.InfoOf(t, h.eng.Sup)
	if info.Name != want.Name || info.PID != want.PID || info.Host != want.Host || !info.Started.Equal(want.Started) {
		t.Fatalf("remote info %+v, want %+v", info, want)
	}
	remote, local := st.SnapshotOf(t, h.client), st.SnapshotOf(t, h.eng.Sup)
	if len(remote) != 2 || len(local) != len(remote) {
		t.Fatalf("remote snapshot has %d instances, local %d", len(remote), len(local))
	}
	for i, r := range remote {
		l := local[i]
		if r.Name != l.Name || r.Instance != l.Instance || r.State != supervisor.StateRunning || r.PID != l.PID || r.SHA256 != l.SHA256 {
			t.Errorf("instance %d: remote %s %s pid %d, local %s %s pid %d", i, r.Instance, r.State, r.PID, l.Instance, l.State, l.PID)
		}
	}
}

func TestClientSendTaskAndPing(t *testing.T) {
	h := startHost(t, nil)
	ctx := context.Background()
	r, err := h.client.SendTask(ctx, supervisor.TaskRequest{Plugin: "echo", ID: 7, Content: "hello over NATS", Token: "tok-1"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != supervisor.OutcomeAnswered || r.Status != protocol.StatusOK || r.ID != 7 || r.Token != "tok-1" ||
		r.Instance != "echo" || len(r.Records) != 1 || r.Records[0].Fields["content"] != "hello over NATS" || r.RTT <= 0 {
		t.Fatalf("reply %+v", r)
	}
	r, err = h.client.SendTask(ctx, supervisor.TaskRequest{Plugin: "nope", ID: 1, Content: "x"})
	if !errors.Is(err, supervisor.ErrUnknownPlugin) || r.Outcome != supervisor.OutcomeNotSent || r.Plugin != "nope" {
		t.Fatalf("task to an unknown plugin: %+v %v", r, err)
	}
	if _, err := h.client.SendTask(ctx, supervisor.TaskRequest{Plugin: "echo", ID: 1, Content: "x", Token: "bad token\x00"}); !errors.Is(err, supervisor.ErrBadToken) {
		t.Fatalf("a bad token: %v", err)
	}
	if rtt, err := h.client.Ping(ctx, "echo"); err != nil || rtt <= 0 {
		t.Fatalf("ping: %v %v", rtt, err)
	}
	if _, err := h.client.Ping(ctx, "nope"); !errors.Is(err, supervisor.ErrUnknownPlugin) || !strings.HasPrefix(err.Error(), "host h1: ") {
		t.Fatalf("ping an unknown plugin: %v", err)
	}
}

// TestConcurrentTasks: tasks sent at once, more of them than the service
// keeps idle workers for, each get their own reply, contents that need
// escaping included; the service then stops.
func TestConcurrentTasks(t *testing.T) {
	h := startHost(t, nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for g := range 24 {
		wg.Go(func() {
			for i := range 10 {
				content := fmt.Sprintf("{\"task\": %d,\n\"from\": \"<%d> é\"}", i, g)
				r, err := h.client.SendTask(ctx, supervisor.TaskRequest{Plugin: "echo", ID: uint32(g*10 + i), Content: content})
				if err == nil && (r.Outcome != supervisor.OutcomeAnswered || len(r.Records) != 1 || r.Records[0].Fields["content"] != content) {
					err = fmt.Errorf("task %d of %d: reply %+v", i, g, r)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
}

func TestClientLifecycle(t *testing.T) {
	h := startHost(t, nil)
	ctx := context.Background()
	if err := h.client.Stop(ctx, "echo"); err != nil {
		t.Fatal(err)
	}
	if s := h.eng.Status("echo"); s.State != supervisor.StateStopped {
		t.Fatalf("echo after a remote stop: %s", s.State)
	}
	if _, err := h.client.SendTask(ctx, supervisor.TaskRequest{Plugin: "echo", ID: 1, Content: "x"}); !errors.Is(err, supervisor.ErrNotRunning) {
		t.Fatalf("a task to a stopped plugin: %v", err)
	}
	if err := h.client.Start(ctx, "echo"); err != nil {
		t.Fatal(err)
	}
	before := h.eng.Status("echo")
	if before.State != supervisor.StateRunning {
		t.Fatalf("echo after a remote start: %s", before.State)
	}
	if err := h.client.Restart(ctx, "echo"); err != nil {
		t.Fatal(err)
	}
	if s := h.eng.Status("echo"); s.State != supervisor.StateRunning || s.PID == before.PID {
		t.Fatalf("echo after a remote restart: %s pid %d (was %d)", s.State, s.PID, before.PID)
	}
	for _, call := range []func(context.Context, string) error{h.client.Start, h.client.Stop, h.client.Restart} {
		if err := call(ctx, "nope"); !errors.Is(err, supervisor.ErrUnknownPlugin) {
			t.Fatalf("a lifecycle call on an unknown plugin: %v", err)
		}
	}
	if err := h.client.Reload(ctx); !errors.Is(err, supervisor.ErrNoReload) {
		t.Fatalf("reload without a source: %v", err)
	}
	if e, ok := errors.AsType[*control.Error](h.client.Reload(ctx)); !ok || e.Code != control.CodeNoReload {
		t.Fatalf("reload's error is not a control.Error with its code: %v", e)
	}
}

func TestClientLogsAndHistory(t *testing.T) {
	h := startHost(t, nil)
	ctx := context.Background()
	var lines []supervisor.LogLine
	st.WaitUntil(t, "3 ticker log lines through the client", 20*time.Second, func() bool {
		var err error
		if lines, err = h.client.Logs(ctx, "ticker", 3); err != nil {
			t.Fatal(err)
		}
		return len(lines) == 3
	})
	if l := lines[2]; l.Instance != "ticker" || l.Stream != supervisor.Stderr || !strings.Contains(l.Text, "tick") {
		t.Fatalf("last log line %+v", l)
	}
	if _, err := h.client.Logs(ctx, "nope", 3); !errors.Is(err, supervisor.ErrUnknownPlugin) {
		t.Fatalf("logs of an unknown plugin: %v", err)
	}

	ev := st.WaitStateEvent(t, h.client, "echo", supervisor.StateRunning)
	if ev.Type != supervisor.EventState || ev.Plugin != "echo" || ev.Time.IsZero() {
		t.Fatalf("echo's state event through the client: %+v", ev)
	}
	var recs []supervisor.Event
	st.WaitUntil(t, "ticker records in history", 20*time.Second, func() bool {
		var err error
		recs, err = h.client.History(ctx, supervisor.HistoryQuery{Plugin: "ticker", Types: []supervisor.EventType{supervisor.EventRecords}, N: 2})
		if err != nil {
			t.Fatal(err)
		}
		return len(recs) == 2
	})
	for _, e := range recs {
		if e.Type != supervisor.EventRecords || len(e.Records) == 0 || e.Records[0].DataType() != "tick" {
			t.Fatalf("a records event %+v", e)
		}
	}
	p, err := h.client.HistoryPage(ctx, supervisor.HistoryQuery{})
	if err != nil || len(p.Events) == 0 || p.Omitted != 0 {
		t.Fatalf("all history: %d events, %d omitted, %v", len(p.Events), p.Omitted, err)
	}
	_, err = h.client.History(ctx, supervisor.HistoryQuery{Types: []supervisor.EventType{"heartbeat"}})
	if e, ok := errors.AsType[*control.Error](err); !ok || e.Code != control.CodeBadRequest || !strings.Contains(err.Error(), `types[0]: unknown event type "heartbeat"`) {
		t.Fatalf("history of a type it does not keep: %v", err)
	}
}

// TestNoResponders: a host nobody serves fails at once, with the sentinel
// a fleet view counts apart.
func TestNoResponders(t *testing.T) {
	srv := startServer(t)
	c := fleet.NewClient(fleet.ClientOptions{Conn: srv.connect(t), Subjects: subjectsOf("nobody")})
	for _, call := range []struct {
		name string
		call func(context.Context) error
	}{
		{"info", func(ctx context.Context) error { _, err := c.Info(ctx); return err }},
		{"status", func(ctx context.Context) error { _, err := c.Snapshot(ctx); return err }},
		{"start", func(ctx context.Context) error { return c.Start(ctx, "echo") }},
		{"reload", c.Reload},
		{"ping", func(ctx context.Context) error { _, err := c.Ping(ctx, "echo"); return err }},
		{"logs", func(ctx context.Context) error { _, err := c.Logs(ctx, "echo", 1); return err }},
		{"history", func(ctx context.Context) error { _, err := c.History(ctx, supervisor.HistoryQuery{}); return err }},
	} {
		err := call.call(context.Background())
		if !errors.Is(err, fleet.ErrNoResponders) || err.Error() != "host nobody: no responders (is plugvisor running there with the fleet on?)" {
			t.Errorf("%s on a host nobody serves: %v", call.name, err)
		}
	}
	r, err := c.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "echo", Token: "t"})
	if !errors.Is(err, fleet.ErrNoResponders) || r.Outcome != supervisor.OutcomeNotSent || r.Token != "t" {
		t.Fatalf("the reply of a task to nobody: %+v %v", r, err)
	}
}

// TestClientTimeoutWithoutDeadline: a call without a deadline is given the
// client's timeout, which travels to the host.
func TestClientTimeoutWithoutDeadline(t *testing.T) {
	f := newFake()
	srv := startServer(t)
	serve(t, srv.connect(t), f, subjectsOf("h1"), nil)
	c := fleet.NewClient(fleet.ClientOptions{Conn: srv.connect(t), Subjects: subjectsOf("h1"), Timeout: time.Second})
	r, err := c.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "stall", ID: 1})
	if !errors.Is(err, context.DeadlineExceeded) || r.Outcome != supervisor.OutcomeTimedOut {
		t.Fatalf("a stalled task under the client's timeout: %+v %v", r, err)
	}
	if d := <-f.deadlines; d > time.Second {
		t.Fatalf("the host's copy of the deadline left %v, more than the client's timeout of 1s", d)
	}
	if err := c.Start(context.Background(), "stall"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a stalled start under the client's timeout: %v", err)
	}

	// A caller that cancels has the task's outcome say so.
	c = fleet.NewClient(fleet.ClientOptions{Conn: srv.connect(t), Subjects: subjectsOf("h1"), Timeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		r   supervisor.Reply
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := c.SendTask(ctx, supervisor.TaskRequest{Plugin: "stall", ID: 2, Token: "mine"})
		done <- result{r, err}
	}()
	<-f.deadlines // the host has the task
	cancel()
	if res := <-done; !errors.Is(res.err, context.Canceled) || res.r.Outcome != supervisor.OutcomeCancelled || res.r.Token != "mine" {
		t.Fatalf("a cancelled task: %+v %v", res.r, res.err)
	}
}

// A request whose reply names anything but an inbox is not served: the
// host would publish its answer there (into its own records, say), and
// the operation is not done either.
func TestRequestWithAForgedReplyIsNotServed(t *testing.T) {
	h := startHost(t, nil)
	nc := h.srv.connect(t)
	forged := h.subj.Records("echo", "forged")
	sub, err := nc.SubscribeSync(forged)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.PublishRequest(h.subj.API(fleet.OpStop), forged, []byte(`{"name":"echo"}`)); err != nil {
		t.Fatal(err)
	}
	// A request after it on the same connection is served after it: once
	// its answer is in, the forged one was dealt with.
	if _, err := h.client.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.NextMsg(100 * time.Millisecond); err == nil {
		t.Fatalf("the host answered on %s: %s", forged, m.Data)
	}
	if s := h.eng.Status("echo"); s.State != supervisor.StateRunning {
		t.Fatalf("echo after a stop with a forged reply: %s", s.State)
	}
}
