package fleet_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/plugvisor/plugvisor/control"
	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
	st "github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// fake is an API for what the engine cannot do on demand: an operation
// that never ends by itself ("stall"), results of any size. Its methods
// not defined here are not called.
type fake struct {
	supervisor.API
	entered   chan string        // the name of each stalled call, as it starts
	deadlines chan time.Duration // what was left of each task's and ping's deadline
	snapshot  []supervisor.PluginStatus
	logs      []supervisor.LogLine
	events    []supervisor.Event
	records   int // records in a reply
}

func newFake() *fake {
	return &fake{entered: make(chan string, 16), deadlines: make(chan time.Duration, 16),
		snapshot: []supervisor.PluginStatus{{Name: "stall", Instance: "stall", State: supervisor.StateRunning}}}
}

func (f *fake) Info(context.Context) (supervisor.Info, error) {
	return supervisor.Info{Name: "fake", Host: "fake"}, nil
}

func (f *fake) Snapshot(context.Context) ([]supervisor.PluginStatus, error) { return f.snapshot, nil }

func (f *fake) lifecycle(ctx context.Context, name string) error {
	switch name {
	case "stall":
		f.entered <- name
		<-ctx.Done()
		return ctx.Err()
	case "nope":
		return fmt.Errorf("%s: %w", name, supervisor.ErrUnknownPlugin)
	}
	return nil
}

func (f *fake) Start(ctx context.Context, name string) error   { return f.lifecycle(ctx, name) }
func (f *fake) Stop(ctx context.Context, name string) error    { return f.lifecycle(ctx, name) }
func (f *fake) Restart(ctx context.Context, name string) error { return f.lifecycle(ctx, name) }

func (f *fake) noteDeadline(ctx context.Context) {
	if dl, ok := ctx.Deadline(); ok {
		f.deadlines <- time.Until(dl)
	}
}

func (f *fake) SendTask(ctx context.Context, req supervisor.TaskRequest) (supervisor.Reply, error) {
	f.noteDeadline(ctx)
	r := supervisor.Reply{Plugin: req.Plugin, Instance: req.Plugin, ID: req.ID, Token: "tok", Outcome: supervisor.OutcomePending}
	if strings.HasPrefix(req.Plugin, "nope") {
		r.Outcome = supervisor.OutcomeNotSent
		return r, fmt.Errorf("%.8s…: %w", req.Plugin, supervisor.ErrUnknownPlugin)
	}
	if req.Plugin == "stall" {
		<-ctx.Done()
		r.Outcome = supervisor.GaveUp(ctx.Err())
		return r, fmt.Errorf("task %d: %w", req.ID, ctx.Err())
	}
	for i := range f.records {
		r.Records = append(r.Records, protocol.Record{Timestamp: int64(i), Token: "tok", Fields: map[string]string{"data_type": "x", "i": fmt.Sprint(i)}})
	}
	r.Outcome, r.Status = supervisor.OutcomeAnswered, protocol.StatusOK
	return r, nil
}

func (f *fake) Ping(ctx context.Context, name string) (time.Duration, error) {
	f.noteDeadline(ctx)
	return time.Millisecond, nil
}

func (f *fake) Logs(context.Context, string, int) ([]supervisor.LogLine, error) { return f.logs, nil }

func (f *fake) History(context.Context, supervisor.HistoryQuery) ([]supervisor.Event, error) {
	return f.events, nil
}

// request makes a raw NATS request, as the nats CLI or another language's
// client would, and returns the reply with its micro error code, if any.
func request(t *testing.T, nc *nats.Conn, subject string, body string) (*nats.Msg, string) {
	t.Helper()
	msg, err := nc.Request(subject, []byte(body), 10*time.Second)
	if err != nil {
		t.Fatalf("request %s %s: %v", subject, body, err)
	}
	return msg, msg.Header.Get(micro.ErrorCodeHeader)
}

// TestDiscovery: `$SRV.PING.plugvisor` finds every host, each with its
// metadata; `$SRV.INFO` names the endpoints under the host's subjects.
func TestDiscovery(t *testing.T) {
	srv := startServer(t)
	serve(t, srv.connect(t), newFake(), subjectsOf("h1"), nil)
	serve(t, srv.connect(t), newFake(), subjectsOf("h2"), func(o *fleet.ServiceOptions) { o.Version, o.Labels = "(devel)", nil })
	nc := srv.connect(t)
	pingSubject, err := micro.ControlSubject(micro.PingVerb, fleet.ServiceName, "")
	if err != nil {
		t.Fatal(err)
	}
	inbox := nc.NewInbox()
	replies, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.PublishRequest(pingSubject, inbox, nil); err != nil {
		t.Fatal(err)
	}
	hosts := map[string]micro.Ping{}
	for len(hosts) < 2 {
		msg, err := replies.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("waiting for the second host's ping response, have %v: %v", hosts, err)
		}
		var p micro.Ping
		if err := json.Unmarshal(msg.Data, &p); err != nil {
			t.Fatal(err)
		}
		hosts[p.Metadata["host"]] = p
	}
	h1, h2 := hosts["h1"], hosts["h2"]
	if h1.Name != "plugvisor" || h1.Version != "1.2.3" || h1.Metadata["label.role"] != "test" || h2.Version != "0.0.0" || len(h2.Metadata) != 2 || h2.Metadata["prefix"] != testPrefix {
		t.Fatalf("ping responses: h1 %+v, h2 %+v", h1, h2)
	}

	infoSubject, err := micro.ControlSubject(micro.InfoVerb, fleet.ServiceName, h1.ID)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := request(t, nc, infoSubject, "")
	var info micro.Info
	if err := json.Unmarshal(msg.Data, &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Endpoints) != len(fleet.Ops()) || info.Metadata["host"] != "h1" || !strings.Contains(info.Description, "v1.2.3 on h1") {
		t.Fatalf("info %+v", info)
	}
	for i, op := range fleet.Ops() {
		if e := info.Endpoints[i]; e.Name != op || e.Subject != subjectsOf("h1").API(op) || e.QueueGroup != fleet.QueueGroup {
			t.Errorf("endpoint %d: %+v, want %s on %s", i, e, op, subjectsOf("h1").API(op))
		}
	}
}

// TestBadRequests: a request the service cannot take gets bad_request,
// saying what was wrong with it.
func TestBadRequests(t *testing.T) {
	srv := startServer(t)
	subj := subjectsOf("h1")
	serve(t, srv.connect(t), newFake(), subj, func(o *fleet.ServiceOptions) { o.MaxRequest = 1024 })
	nc := srv.connect(t)
	for _, tc := range []struct{ op, body, want string }{
		{fleet.OpSend, `{not json`, "send: request body is not the JSON expected: invalid character 'n'"},
		{fleet.OpSend, `{"plugin":"echo","id":"seven"}`, "SendRequest.id of type uint32"},
		{fleet.OpSend, `{"plugin":"echo","timeout":"soon"}`, `send: timeout "soon" is not a duration like "5s"`},
		{fleet.OpSend, `{"plugin":"echo","timeout":"-1s"}`, "send: timeout -1s is negative"},
		{fleet.OpSend, `{"id":1}`, "send: plugin is required"},
		{fleet.OpSend, `{"plugin":"echo","content":"` + strings.Repeat("x", 1024) + `"}`, "send: request of 1054 bytes, at most 1024"},
		{fleet.OpPing, `{"name":"echo","timeout":"1 s"}`, `ping: timeout "1 s"`},
		{fleet.OpStart, `{}`, "start: name is required"},
		{fleet.OpStop, ``, "stop: name is required"},
		{fleet.OpRestart, `{"name":7}`, "NameRequest.name of type string"},
		{fleet.OpLogs, `{"name":"echo","n":-1}`, "logs: n -1 is negative"},
		{fleet.OpHistory, `{"types":["nope"]}`, `history: types[0]: unknown event type "nope"`},
		{fleet.OpHistory, `{"n":-2}`, "history: n -2 is negative"},
		{fleet.OpInfo, `[1]`, "info: request body is not the JSON expected"},
		{fleet.OpStatus, `{} trailing`, "status: request body is not the JSON expected"},
	} {
		msg, code := request(t, nc, subj.API(tc.op), tc.body)
		if desc := msg.Header.Get(micro.ErrorHeader); code != string(control.CodeBadRequest) || !strings.Contains(desc, tc.want) {
			t.Errorf("%s %.40s: code %q, %q; want bad_request with %q", tc.op, tc.body, code, desc, tc.want)
		}
	}
	// An empty body is an empty request to the ops that take none.
	if msg, code := request(t, nc, subj.API(fleet.OpInfo), ""); code != "" || !strings.Contains(string(msg.Data), `"name":"fake"`) {
		t.Fatalf("info with no body: %q %s", code, msg.Data)
	}
}

// TestRawJSONCall: any NATS client can drive a real engine with JSON.
func TestRawJSONCall(t *testing.T) {
	h := startHost(t, nil)
	nc := h.srv.connect(t)
	msg, code := request(t, nc, h.subj.API(fleet.OpSend), `{"plugin":"echo","id":3,"content":"from a script","timeout":"10s"}`)
	var r supervisor.Reply
	if err := json.Unmarshal(msg.Data, &r); code != "" || err != nil || r.Outcome != supervisor.OutcomeAnswered || r.Records[0].Fields["content"] != "from a script" {
		t.Fatalf("raw send: code %q, %s (%v)", code, msg.Data, err)
	}
	msg, code = request(t, nc, h.subj.API(fleet.OpSend), `{"plugin":"nope","id":3}`)
	if err := json.Unmarshal(msg.Data, &r); code != string(control.CodeUnknownPlugin) || err != nil || r.Outcome != supervisor.OutcomeNotSent {
		t.Fatalf("raw send to an unknown plugin: code %q, %q, %s", code, msg.Header.Get(micro.ErrorHeader), msg.Data)
	}
	if msg, code = request(t, nc, h.subj.API(fleet.OpStop), `{"name":"ticker"}`); code != "" || string(msg.Data) != "{}" {
		t.Fatalf("raw stop: code %q, %s", code, msg.Data)
	}
	if s := h.eng.Status("ticker"); s.State != supervisor.StateStopped {
		t.Fatalf("ticker after a raw stop: %s", s.State)
	}
}

// TestLongRequestsDoNotBlock: a start that waits does not hold up other
// requests; beyond MaxInFlight, requests are refused at once; stopping the
// service cancels what runs and answers it.
func TestLongRequestsDoNotBlock(t *testing.T) {
	srv := startServer(t)
	f := newFake()
	stop := serve(t, srv.connect(t), f, subjectsOf("h1"), func(o *fleet.ServiceOptions) { o.MaxInFlight = 2 })
	c := fleet.NewClient(fleet.ClientOptions{Conn: srv.connect(t), Subjects: subjectsOf("h1")})
	ctx := context.Background()
	stalled := make(chan error, 2)
	go func() { stalled <- c.Start(ctx, "stall") }()
	<-f.entered
	if info, err := c.Info(ctx); err != nil || info.Name != "fake" {
		t.Fatalf("info while a start waits: %+v %v", info, err)
	}
	go func() { stalled <- c.Restart(ctx, "stall") }()
	<-f.entered
	if _, err := c.Snapshot(ctx); !errors.Is(err, control.ErrTooManyRequests) || !strings.Contains(err.Error(), "status: 2 requests in flight already") {
		t.Fatalf("a third request with two in flight of two: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-stalled; !errors.Is(err, supervisor.ErrClosed) || !strings.Contains(err.Error(), "host h1: the fleet service is stopping") {
			t.Fatalf("a request running when the service stopped: %v", err)
		}
	}
	if _, err := c.Info(ctx); !errors.Is(err, fleet.ErrNoResponders) {
		t.Fatalf("info after stop: %v", err)
	}
}

// TestServiceTimeout: an operation that brings no timeout gets the
// service's; one that does keeps its own.
func TestServiceTimeout(t *testing.T) {
	srv := startServer(t)
	f := newFake()
	serve(t, srv.connect(t), f, subjectsOf("h1"), func(o *fleet.ServiceOptions) { o.Timeout = 100 * time.Millisecond })
	c := fleet.NewClient(fleet.ClientOptions{Conn: srv.connect(t), Subjects: subjectsOf("h1")})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := c.Stop(ctx, "stall")
	if e, ok := errors.AsType[*control.Error](err); !ok || e.Code != control.CodeDeadline || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a stalled stop past the service's timeout: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the caller's minute passed")
	}
	if _, err := c.Ping(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if d := <-f.deadlines; d <= 100*time.Millisecond {
		t.Fatalf("a ping with a minute to go got %v, the service's default", d)
	}
}

// TestResultsFitAResponse: logs and history keep the newest that fit,
// history counting what it left out; a reply keeps its final record and
// counts the rest; other results too large are refused.
func TestResultsFitAResponse(t *testing.T) {
	const maxResponse = 24 << 10 // 8 KiB of it for headers: 16 KiB of body
	srv := startServer(t)
	f := newFake()
	for i := range 1000 {
		at := time.Unix(int64(i), 0)
		f.logs = append(f.logs, supervisor.LogLine{Time: at, Instance: "p", Stream: supervisor.Stdout, Text: fmt.Sprintf("line %d %s", i, strings.Repeat("x", 80))})
		f.events = append(f.events, supervisor.Event{Type: supervisor.EventState, Time: at, Plugin: "p", Instance: "p", State: supervisor.StateRunning, Reason: fmt.Sprint(i)})
		f.snapshot = append(f.snapshot, supervisor.PluginStatus{Name: fmt.Sprint("p", i)})
	}
	f.records = 1000
	serve(t, srv.connect(t), f, subjectsOf("h1"), func(o *fleet.ServiceOptions) { o.MaxResponse = maxResponse })
	c := fleet.NewClient(fleet.ClientOptions{Conn: srv.connect(t), Subjects: subjectsOf("h1")})
	ctx := context.Background()

	lines, err := c.Logs(ctx, "p", 0)
	if err != nil || len(lines) < 50 || len(lines) >= 1000 {
		t.Fatalf("logs: %d lines, %v; want the newest that fit in 16 KiB", len(lines), err)
	}
	for i, l := range lines {
		if w := f.logs[1000-len(lines)+i]; l.Text != w.Text || !l.Time.Equal(w.Time) {
			t.Fatalf("line %d is %q, want %q: not the newest, in order", i, l.Text, w.Text)
		}
	}
	p, err := c.HistoryPage(ctx, supervisor.HistoryQuery{})
	if err != nil || len(p.Events) < 50 || len(p.Events)+p.Omitted != 1000 {
		t.Fatalf("history: %d events, %d omitted, %v", len(p.Events), p.Omitted, err)
	}
	if first := p.Events[0]; first.Reason != fmt.Sprint(p.Omitted) {
		t.Fatalf("history's first event is %q, want %d: not the newest", first.Reason, p.Omitted)
	}
	r, err := c.SendTask(ctx, supervisor.TaskRequest{Plugin: "p", ID: 1})
	if err != nil || r.Outcome != supervisor.OutcomeAnswered || len(r.Records) != 1 || r.Records[0].Fields["i"] != "999" || r.Dropped != 999 || r.DroppedBytes <= 0 {
		t.Fatalf("a reply too large: %d records, %d dropped, %v", len(r.Records), r.Dropped, err)
	}
	if _, err := c.Snapshot(ctx); !strings.Contains(fmt.Sprint(err), "status: result of") {
		t.Fatalf("a snapshot too large: %v", err)
	} else if e, _ := errors.AsType[*control.Error](err); e == nil || e.Code != control.CodeResultTooLarge {
		t.Fatalf("a snapshot too large: %v", err)
	}
}

// TestTaskReplyTextsFitAResponse: a task's reply whose name alone (every
// byte of it escaped six to one) outweighs a response still reaches the
// caller, failed or not, cut to fit, with its outcome.
func TestTaskReplyTextsFitAResponse(t *testing.T) {
	srv := startServer(t)
	serve(t, srv.connect(t), newFake(), subjectsOf("h1"), nil)
	c := fleet.NewClient(fleet.ClientOptions{Conn: srv.connect(t), Subjects: subjectsOf("h1")})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := strings.Repeat("<", 100<<10) // 600 KB once escaped; the reply holds it twice, over the server's 1 MB
	r, err := c.SendTask(ctx, supervisor.TaskRequest{Plugin: name, ID: 1})
	if err != nil || r.Outcome != supervisor.OutcomeAnswered || r.Token != "tok" || !strings.Contains(r.Plugin, " bytes)") {
		t.Fatalf("a task with a name of %d bytes: %.60q… %s %q, %v", len(name), r.Plugin, r.Outcome, r.Token, err)
	}
	r, err = c.SendTask(ctx, supervisor.TaskRequest{Plugin: "nope" + name, ID: 2})
	if !errors.Is(err, supervisor.ErrUnknownPlugin) || r.Token != "tok" || r.Outcome != supervisor.OutcomeNotSent {
		t.Fatalf("a task to an unknown plugin with a name of %d bytes: %s %q, %v", len(name), r.Outcome, r.Token, err)
	}
}

func TestServeRefusesBadOptions(t *testing.T) {
	nc := startServer(t).connect(t)
	for _, tc := range []struct {
		o    fleet.ServiceOptions
		want string
	}{
		{fleet.ServiceOptions{API: newFake(), Subjects: subjectsOf("h")}, "no NATS connection"},
		{fleet.ServiceOptions{Conn: nc, Subjects: subjectsOf("h")}, "no API"},
		{fleet.ServiceOptions{Conn: nc, API: newFake(), Subjects: fleet.Subjects{Host: "h"}}, "need a prefix and a host"},
		{fleet.ServiceOptions{Conn: nc, API: newFake(), Subjects: subjectsOf("a.b")}, `host "a.b" is not a subject token`},
		{fleet.ServiceOptions{Conn: nc, API: newFake(), Subjects: subjectsOf("h"), MaxInFlight: -1}, "negative"},
	} {
		if _, err := fleet.Serve(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Serve(%+v): %v, want %q", tc.o.Subjects, err, tc.want)
		}
	}
}

// TestServiceStopsWithItsConnection: the service ends when its connection
// closes; stop afterwards is harmless.
func TestServiceStopsWithItsConnection(t *testing.T) {
	srv := startServer(t)
	nc := srv.connect(t)
	serve(t, nc, newFake(), subjectsOf("h1"), nil)
	c := fleet.NewClient(fleet.ClientOptions{Conn: srv.connect(t), Subjects: subjectsOf("h1")})
	if _, err := c.Info(context.Background()); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	st.WaitUntil(t, "no responders once the service's connection closed", 20*time.Second, func() bool {
		// A request may reach the connection before the server sees it
		// closed, and be lost with it: each try is short.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := c.Info(ctx)
		return errors.Is(err, fleet.ErrNoResponders)
	})
}
