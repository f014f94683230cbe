package fleet_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor"
	st "github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

func startFleet(t *testing.T, srv *testServer, sel string) *fleet.Fleet {
	t.Helper()
	s, err := fleet.ParseSelector(sel)
	if err != nil {
		t.Fatal(err)
	}
	fl, err := fleet.StartFleet(context.Background(), fleet.FleetOptions{Conn: srv.connect(t), Prefix: testPrefix, Selector: s,
		DiscoverEvery: 100 * time.Millisecond, DiscoverWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fl.Close)
	return fl
}

// The fleet's events and records are every host's, each naming its host
// and qualifying its names; a fleet of one host hears only that host.
func TestFleetSubscribeMergesHosts(t *testing.T) {
	srv := startServer(t)
	all, one := startFleet(t, srv, "*"), startFleet(t, srv, "host=h2")
	events, cancel, err := all.Subscribe(context.Background(), 64)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	picked, cancelPicked, err := one.Subscribe(context.Background(), 64)
	if err != nil {
		t.Fatal(err)
	}
	defer cancelPicked()
	at := time.Unix(1700000000, 0)
	for _, h := range []string{"h1", "h2"} {
		pub := &publisher{t: t, nc: srv.connect(t), subj: subjectsOf(h)}
		pub.event(supervisor.Event{Type: supervisor.EventState, Time: at, Plugin: "echo", Instance: "echo.0", State: supervisor.StateRunning})
		pub.flush()
		pub.record("ticker", "ticker", "", at.UnixNano(), `{"data_type":"tick"}`)
		pub.flush()
	}
	got := map[string]supervisor.Event{}
	for range 4 {
		ev := next(t, events)
		got[string(ev.Type)+" "+ev.Instance] = ev
	}
	for _, h := range []string{"h1", "h2"} {
		s, r := got["state "+h+"/echo.0"], got["records "+h+"/ticker"]
		if s.Host != h || s.Plugin != h+"/echo" || s.State != supervisor.StateRunning || r.Host != h || r.Plugin != h+"/ticker" || len(r.Records) != 1 {
			t.Fatalf("host %s: state %+v records %+v (all: %v)", h, s, r, got)
		}
	}
	for range 2 {
		if ev := next(t, picked); ev.Host != "h2" {
			t.Fatalf("the fleet of host=h2 heard %+v", ev)
		}
	}
}

// One real engine served as two hosts: the fleet's snapshot has both, each
// row qualified; a task goes to the host its name names; a name without a
// host, and a host nobody serves, are errors saying so.
func TestFleetRoutesByHost(t *testing.T) {
	eng := st.Start(t, st.Plugin(t, "echo", st.Bin("echo"), ""), st.Options{})
	srv := startServer(t)
	for _, h := range []string{"h1", "h2"} {
		serve(t, srv.connect(t), eng.Sup, subjectsOf(h), nil)
	}
	eng.WaitState("echo", supervisor.StateRunning)
	fl := startFleet(t, srv, "*")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	testutil.WaitUntil(t, "both hosts in the snapshot", 30*time.Second, func() bool {
		snap, err := fl.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(snap) == 2 && snap[0].Instance == "h1/echo" && snap[1].Instance == "h2/echo" &&
			snap[0].HostLabels["role"] == "test" && !snap[1].HostLastSeen.IsZero()
	})
	r, err := fl.SendTask(ctx, supervisor.TaskRequest{Plugin: "h2/echo", ID: 1, Content: "x"})
	if err != nil || r.Outcome != supervisor.OutcomeAnswered || r.Plugin != "h2/echo" || r.Instance != "h2/echo" {
		t.Fatalf("task to h2/echo: %+v %v", r, err)
	}
	if rtt, err := fl.Ping(ctx, "h1/echo"); err != nil || rtt <= 0 {
		t.Fatalf("ping h1/echo: %v %v", rtt, err)
	}
	if _, err := fl.Ping(ctx, "echo"); !errors.Is(err, fleet.ErrUnqualified) || !errors.Is(err, supervisor.ErrUnknownPlugin) {
		t.Fatalf("ping of an unqualified name: %v", err)
	}
	if err := fl.Restart(ctx, "h3/echo"); !errors.Is(err, fleet.ErrNoResponders) {
		t.Fatalf("restart on a host nobody serves: %v", err)
	}
	if r := fl.FanOut(ctx, []string{"h1", "h4"}, supervisor.TaskRequest{Plugin: "echo", ID: 2, Content: "y"}, nil); r[0].Reply.Outcome != supervisor.OutcomeAnswered || !errors.Is(r[1].Err, fleet.ErrNoResponders) {
		t.Fatalf("a task to h1 and to h4, which nobody serves: %+v", r)
	}
	for _, h := range fl.Hosts() {
		if h.Name == "h3" || h.Name == "h4" {
			t.Fatalf("a host called by name and not found is kept: %+v", h)
		}
	}
	evs, err := fl.History(ctx, supervisor.HistoryQuery{Types: []supervisor.EventType{supervisor.EventTask}})
	if err != nil || len(evs) == 0 {
		t.Fatalf("the fleet's history: %d events, %v", len(evs), err)
	}
	for _, ev := range evs {
		if ev.Host == "" || !strings.HasPrefix(ev.Instance, ev.Host+"/") {
			t.Fatalf("a history event not qualified: %+v", ev)
		}
	}
	info, err := fl.Info(ctx)
	if err != nil || info.Name != "fleet" || !strings.HasPrefix(info.Host, "2 hosts") {
		t.Fatalf("the fleet's info: %+v %v", info, err)
	}
}

// The rows a fleet keeps are bounded all hosts told: a host's beyond the
// bound are left out of the snapshot and counted in Info.
func TestFleetBoundsRows(t *testing.T) {
	eng := st.Start(t, st.Plugin(t, "echo", st.Bin("echo"), "instances = 3"), st.Options{})
	srv := startServer(t)
	for _, h := range []string{"h1", "h2"} {
		serve(t, srv.connect(t), eng.Sup, subjectsOf(h), nil)
	}
	eng.WaitState("echo.2", supervisor.StateRunning)
	fl, err := fleet.StartFleet(context.Background(), fleet.FleetOptions{Conn: srv.connect(t), Prefix: testPrefix, MaxRows: 4,
		DiscoverEvery: 100 * time.Millisecond, DiscoverWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 3 { // again and again: a host's own rows make room for its next answer
		snap, err := fl.Snapshot(ctx)
		if err != nil || len(snap) != 4 || snap[0].Host != "h1" || snap[3].Host != "h2" {
			t.Fatalf("a snapshot of 2 hosts of 3 instances within 4 rows: %d rows %v", len(snap), err)
		}
	}
	info, err := fl.Info(ctx)
	if err != nil || !strings.Contains(strings.Join(info.Containment, "\n"), "instances beyond the fleet's bound of 4 rows left out of snapshots") {
		t.Fatalf("the fleet's info: %+v %v", info.Containment, err)
	}
}
