package fleet_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/supervisor"
	st "github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// publisher stands for a host's fleet link: it publishes events and
// records as the link does.
type publisher struct {
	t    *testing.T
	nc   *nats.Conn
	subj fleet.Subjects
}

func (p *publisher) event(ev supervisor.Event) {
	p.t.Helper()
	b, err := fleet.EncodeEvent(&ev)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.nc.Publish(p.subj.Event(ev.Plugin), b); err != nil {
		p.t.Fatal(err)
	}
}

func (p *publisher) record(plugin, instance, token string, ts int64, body string) {
	p.t.Helper()
	m := nats.NewMsg(p.subj.Records(plugin, "tick"))
	m.Header.Set(fleet.HeaderInstance, instance)
	if token != "" {
		m.Header.Set(fleet.HeaderToken, token)
	}
	m.Header.Set(fleet.HeaderTimestamp, strconv.FormatInt(ts, 10))
	m.Data = []byte(body)
	if err := p.nc.PublishMsg(m); err != nil {
		p.t.Fatal(err)
	}
}

func (p *publisher) raw(subject, body string) {
	p.t.Helper()
	if err := p.nc.Publish(subject, []byte(body)); err != nil {
		p.t.Fatal(err)
	}
}

func (p *publisher) flush() {
	p.t.Helper()
	if err := p.nc.Flush(); err != nil {
		p.t.Fatal(err)
	}
}

func next(t *testing.T, events <-chan supervisor.Event) supervisor.Event {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("the subscription closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event in 10s")
	}
	return supervisor.Event{}
}

func subscribeEnv(t *testing.T, buffer int) (*publisher, *fleet.Client, <-chan supervisor.Event, func()) {
	srv := startServer(t)
	subj := subjectsOf("h1")
	c := fleet.NewClient(fleet.ClientOptions{Conn: srv.connect(t), Subjects: subj})
	events, cancel, err := c.Subscribe(context.Background(), buffer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	return &publisher{t: t, nc: srv.connect(t), subj: subj}, c, events, cancel
}

func TestSubscribeEventsAndRecords(t *testing.T) {
	pub, _, events, cancel := subscribeEnv(t, 16)
	at := time.Unix(1700000000, 123456789)
	pub.event(supervisor.Event{Type: supervisor.EventState, Time: at, Plugin: "echo", Instance: "echo", State: supervisor.StateRunning,
		Prev: supervisor.StateStarting, Exit: &supervisor.Exit{Code: 3, Reason: "x"}})
	if ev := next(t, events); ev.Type != supervisor.EventState || !ev.Time.Equal(at) || ev.Instance != "echo" || ev.State != supervisor.StateRunning || ev.Exit.Code != 3 {
		t.Fatalf("state event %+v", ev)
	}
	pub.event(supervisor.Event{Type: supervisor.EventSupervisorLog, Time: at, SupervisorLog: &supervisor.SupervisorLog{Level: "INFO", Message: "hello"}})
	if ev := next(t, events); ev.Type != supervisor.EventSupervisorLog || ev.Plugin != "" || ev.SupervisorLog.Message != "hello" {
		t.Fatalf("supervisor log event %+v", ev)
	}
	pub.record("ticker", "ticker.1", "tok", at.UnixNano(), `{"data_type":"tick","seq":"5"}`)
	ev := next(t, events)
	if ev.Type != supervisor.EventRecords || ev.Plugin != "ticker" || ev.Instance != "ticker.1" || !ev.Time.Equal(at) || len(ev.Records) != 1 {
		t.Fatalf("records event %+v", ev)
	}
	if r := ev.Records[0]; r.Timestamp != at.UnixNano() || r.Token != "tok" || r.Fields["seq"] != "5" || r.DataType() != "tick" || len(r.Fields) != 2 {
		t.Fatalf("record %+v", r)
	}
	// The host's own drops arrive as they are.
	pub.event(supervisor.Event{Type: supervisor.EventDropped, Time: at, Dropped: 7})
	if ev := next(t, events); ev.Type != supervisor.EventDropped || ev.Dropped != 7 {
		t.Fatalf("the host's drop notice %+v", ev)
	}
	// What does not decode is lost, and told of.
	pub.raw(pub.subj.Event("echo"), "{not json")
	pub.record("ticker", "", "", 1, `{"data_type":"tick"}`) // no instance
	pub.event(supervisor.Event{Type: supervisor.EventHeartbeat, Plugin: "echo", RTT: time.Millisecond})
	// Events and records come on two subscriptions: the notice of the bad
	// record may come before or after the heartbeat.
	var dropped uint64
	var heartbeat bool
	for dropped < 2 || !heartbeat {
		switch ev := next(t, events); ev.Type {
		case supervisor.EventDropped:
			dropped += ev.Dropped
		case supervisor.EventHeartbeat:
			heartbeat = ev.RTT == time.Millisecond
		default:
			t.Fatalf("unexpected %+v", ev)
		}
	}
	cancel()
	if _, ok := <-events; ok {
		t.Fatal("an event after cancel")
	}
}

// TestSubscribeDropsWhenNotRead: a subscriber that does not read loses
// what does not fit, counted, and hears how many when it reads again.
func TestSubscribeDropsWhenNotRead(t *testing.T) {
	const buffer, sent = 4, 100
	pub, c, events, _ := subscribeEnv(t, buffer)
	for i := range sent {
		pub.event(supervisor.Event{Type: supervisor.EventHeartbeat, Plugin: "echo", Reason: strconv.Itoa(i)})
	}
	pub.flush()
	st.WaitUntil(t, "96 events dropped", 10*time.Second, func() bool { return c.Dropped() == sent-buffer })
	for i := range buffer {
		if ev := next(t, events); ev.Reason != strconv.Itoa(i) {
			t.Fatalf("kept event %d is %q", i, ev.Reason)
		}
	}
	pub.event(supervisor.Event{Type: supervisor.EventHeartbeat, Plugin: "echo", Reason: "after"})
	if ev := next(t, events); ev.Type != supervisor.EventDropped || ev.Dropped != sent-buffer {
		t.Fatalf("want a notice of %d dropped, got %+v", sent-buffer, ev)
	}
	if ev := next(t, events); ev.Reason != "after" {
		t.Fatalf("after the notice %+v", ev)
	}
}

// TestSubscribeEnds: the channel closes when ctx ends and when the
// connection closes.
func TestSubscribeEnds(t *testing.T) {
	srv := startServer(t)
	nc := srv.connect(t)
	c := fleet.NewClient(fleet.ClientOptions{Conn: nc, Subjects: subjectsOf("h1")})
	ctx, cancel := context.WithCancel(context.Background())
	byCtx, _, err := c.Subscribe(ctx, 8)
	if err != nil {
		t.Fatal(err)
	}
	byConn, stop, err := c.Subscribe(context.Background(), 8)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	cancel()
	for range byCtx {
		t.Fatal("an event on a quiet subscription")
	}
	nc.Close()
	for range byConn {
		t.Fatal("an event on a quiet subscription")
	}
	if _, _, err := c.Subscribe(context.Background(), 8); err == nil {
		t.Fatal("subscribed on a closed connection")
	}
	if _, _, err := c.Subscribe(ctx, 8); err == nil {
		t.Fatal("subscribed with a context that ended")
	}
}

// A record the link sends again after a rewind reaches a live subscriber
// once: the stream drops the copy by its id, and so does Subscribe.
func TestSubscribePassesAResentRecordOnce(t *testing.T) {
	pub, _, events, _ := subscribeEnv(t, 64)
	send := func(id, seq string) {
		m := nats.NewMsg(pub.subj.Records("ticker", "tick"))
		m.Header.Set(fleet.HeaderInstance, "ticker")
		m.Header.Set(fleet.HeaderTimestamp, "1")
		m.Header.Set(nats.MsgIdHdr, id)
		m.Data = []byte(`{"data_type":"tick","seq":"` + seq + `"}`)
		if err := pub.nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	send("h1.runA.1", "1")
	send("h1.runA.2", "2")
	send("h1.runA.1", "1") // the rewind: both again, then on
	send("h1.runA.2", "2")
	send("h1.runA.3", "3")
	send("h1.runB.1", "4") // the next run numbers from 1 again
	var got []string
	for len(got) < 4 { // a backlog's records may come in one event
		for _, r := range next(t, events).Records {
			got = append(got, r.Fields["seq"])
		}
	}
	if strings.Join(got, ",") != "1,2,3,4" {
		t.Fatalf("records passed on: %v", got)
	}
}
