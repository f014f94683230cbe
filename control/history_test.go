package control_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/control"
	ct "github.com/plugvisor/plugvisor/control/controltest"
	"github.com/plugvisor/plugvisor/examples/chaos"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// TestHistoryRemoteEqualsLocal: History through the control socket returns
// what the engine returns in process, event for event: state changes with
// their exits, tasks, records and the supervisor's log.
func TestHistoryRemoteEqualsLocal(t *testing.T) {
	e := ct.Start(t, ct.Plugin(t, "echo", ct.Bin("echo"), "")+ct.Plugin(t, "crash", ct.Bin("chaos"), `restart = "never"`), ct.Options{})
	e.WaitState("echo", supervisor.StateRunning)
	e.WaitState("crash", supervisor.StateRunning)
	ctx := context.Background()
	for i := range 3 {
		if _, err := e.Sup.SendTask(ctx, supervisor.TaskRequest{Plugin: "echo", ID: uint32(i + 1), Content: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = e.Sup.SendTask(ctx, supervisor.TaskRequest{Plugin: "crash", ID: chaos.TaskCrash})
	e.WaitState("crash", supervisor.StateExited)
	if err := e.Sup.Stop(ctx, "echo"); err != nil {
		t.Fatal(err)
	}
	// The events themselves: a Snapshot's state is set before its change
	// is published, and the two Historys below must see the same past.
	supervisortest.WaitStateEvent(t, e.Sup, "crash", supervisor.StateExited)
	supervisortest.WaitStateEvent(t, e.Sup, "echo", supervisor.StateStopped)
	plugins := []supervisor.EventType{supervisor.EventState, supervisor.EventTask, supervisor.EventRecords}
	ct.WaitUntil(t, "3 echo task outcomes", 10*time.Second, func() bool {
		evs, _ := e.Sup.History(ctx, supervisor.HistoryQuery{Plugin: "echo", Types: []supervisor.EventType{supervisor.EventTask}})
		return len(evs) == 3
	})
	c := e.Dial()
	for _, q := range []supervisor.HistoryQuery{{Types: plugins}, {Plugin: "crash", Types: plugins}, {Plugin: "echo", N: 2, Types: plugins}} {
		local, err := e.Sup.History(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		remote, err := c.History(ctx, q)
		if err != nil {
			t.Fatalf("remote history %+v: %v", q, err)
		}
		if len(local) == 0 || len(remote) != len(local) {
			t.Fatalf("%+v: remote %d events, local %d", q, len(remote), len(local))
		}
		for i := range local {
			if !sameEvent(local[i], remote[i]) {
				t.Fatalf("%+v: event %d remote\n%+v\nlocal\n%+v", q, i, remote[i], local[i])
			}
		}
	}
	// The log goes on (the client's own connection is logged), so the
	// remote one is the start of what the engine has just after.
	remote, err := c.History(ctx, supervisor.HistoryQuery{Types: []supervisor.EventType{supervisor.EventSupervisorLog}})
	if err != nil {
		t.Fatal(err)
	}
	local, _ := e.Sup.History(ctx, supervisor.HistoryQuery{Types: []supervisor.EventType{supervisor.EventSupervisorLog}})
	if len(remote) == 0 || len(remote) > len(local) {
		t.Fatalf("remote log %d lines, local %d", len(remote), len(local))
	}
	for i := range remote {
		if !sameEvent(local[i], remote[i]) {
			t.Fatalf("log line %d remote %+v, local %+v", i, remote[i].SupervisorLog, local[i].SupervisorLog)
		}
	}
	if _, err := c.History(ctx, supervisor.HistoryQuery{Plugin: "nosuch"}); !errors.Is(err, supervisor.ErrUnknownPlugin) {
		t.Fatalf("remote history of an unknown plugin: %v", err)
	}
}

// sameEvent compares events as they travel: times by instant, and without
// the engine's size estimate.
func sameEvent(a, b supervisor.Event) bool {
	norm := func(e supervisor.Event) supervisor.Event {
		out := supervisor.Event{Type: e.Type, Time: e.Time.UTC(), Plugin: e.Plugin, Instance: e.Instance, State: e.State, Prev: e.Prev,
			Reason: e.Reason, Records: e.Records, RTT: e.RTT, Dropped: e.Dropped, SupervisorLog: e.SupervisorLog}
		if e.Exit != nil {
			x := *e.Exit
			x.Time = x.Time.UTC()
			out.Exit = &x
		}
		if e.Task != nil {
			tk := *e.Task
			tk.Sent = tk.Sent.UTC()
			out.Task = &tk
		}
		return out
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// TestHistoryResultFitsAFrame: a history larger than a frame comes back as
// its newest events that fit, not as an error.
func TestHistoryResultFitsAFrame(t *testing.T) {
	const maxFrame = 2048
	e := ct.Start(t, ct.Plugin(t, "echo", ct.Bin("echo"), ""), ct.Options{Server: func(s *control.Server) { s.MaxFrame = maxFrame }})
	e.WaitState("echo", supervisor.StateRunning)
	ctx := context.Background()
	for range 8 { // 4 state changes each, of about 150 bytes encoded
		if err := e.Sup.Restart(ctx, "echo"); err != nil {
			t.Fatal(err)
		}
	}
	q := supervisor.HistoryQuery{Plugin: "echo", Types: []supervisor.EventType{supervisor.EventState}}
	all, err := e.Sup.History(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	page, err := e.Dial().HistoryPage(ctx, q)
	if err != nil {
		t.Fatalf("history beyond a frame: %v", err)
	}
	got := page.Events
	if len(got) == 0 || len(got) >= len(all) || page.Omitted != len(all)-len(got) {
		t.Fatalf("got %d of %d events, %d omitted, want the newest that fit in %d bytes and the rest counted", len(got), len(all), page.Omitted, maxFrame)
	}
	for i := range got {
		if !sameEvent(got[i], all[len(all)-len(got)+i]) {
			t.Fatalf("event %d is not the newest events, in order", i)
		}
	}
}
