package state

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

func TestBuffersAreBounded(t *testing.T) {
	s := New()
	recs := make([]protocol.Record, 100)
	for i := range recs {
		recs[i] = protocol.Record{Fields: map[string]string{"data_type": "x"}}
	}
	var batch []supervisor.Event
	for i := 0; i < 2*MaxLogLines; i++ {
		batch = append(batch, supervisor.Event{Type: supervisor.EventLog, Plugin: "p", Instance: "p", Log: supervisor.LogLine{Text: fmt.Sprint(i)}})
	}
	for i := 0; i < 50; i++ {
		batch = append(batch, supervisor.Event{Type: supervisor.EventRecords, Plugin: "p", Instance: "p", Records: recs})
	}
	s.Apply(batch)
	p := s.Plugin("p")
	if p.Logs.Len() != MaxLogLines || p.Records.Len() != MaxRecords {
		t.Fatalf("logs %d records %d", p.Logs.Len(), p.Records.Len())
	}
	if got := p.Logs.At(p.Logs.Len() - 1).Text; got != fmt.Sprint(2*MaxLogLines-1) {
		t.Fatalf("newest line %q", got)
	}
	for i := 0; i < 2*MaxRoundTrips; i++ {
		s.AddPending("p", "c-"+fmt.Sprint(i), 1, "c", time.Now())
	}
	if ts, _ := s.Tasks("p"); ts.Len() != MaxRoundTrips {
		t.Fatalf("round trips %d", ts.Len())
	}
}

func TestTaskEventMergesWithPending(t *testing.T) {
	for _, eventFirst := range []bool{true, false} {
		s := New()
		s.SetSnapshot([]supervisor.PluginStatus{{Name: "echo", Instance: "echo"}}, supervisor.Info{})
		s.AddPending("echo", "tok", 7, "hi", time.Now())
		reply := supervisor.Reply{Instance: "echo", ID: 7, Token: "tok", Outcome: supervisor.OutcomeAnswered, Status: protocol.StatusOK, RTT: time.Millisecond,
			Records: []protocol.Record{{Token: "tok", Fields: map[string]string{"data_type": "echo", "content": "hi", "task_status": "ok"}}}}
		event := []supervisor.Event{
			{Type: supervisor.EventTask, Plugin: "echo", Instance: "echo",
				Task: &supervisor.TaskEvent{ID: 7, Token: "tok", Content: "hi", Outcome: supervisor.OutcomePending}},
			{Type: supervisor.EventTask, Plugin: "echo", Instance: "echo",
				Task: &supervisor.TaskEvent{ID: 7, Token: "tok", Content: "hi", Outcome: supervisor.OutcomeAnswered, Reply: reply}},
		}
		if eventFirst {
			s.Apply(event)
			s.Resolve("echo", reply, nil)
		} else {
			s.Resolve("echo", reply, nil)
			s.Apply(event) // the pending event arrives late: it must not undo the answer
		}
		ts, _ := s.Tasks("echo")
		if ts.Len() != 1 {
			t.Fatalf("eventFirst=%v: %d round trips, want 1", eventFirst, ts.Len())
		}
		if got := ts.At(0); got.Outcome != supervisor.OutcomeAnswered || got.RTT != time.Millisecond || got.Token != "tok" || !got.Mine {
			t.Fatalf("eventFirst=%v: %+v", eventFirst, got)
		}
	}
}

func TestTaskFailures(t *testing.T) {
	s := New()
	s.AddPending("echo", "c-1", 1, "x", time.Now())
	s.Resolve("echo", supervisor.Reply{Token: "c-1", Outcome: supervisor.OutcomeNotSent}, fmt.Errorf("echo: %w", supervisor.ErrNotRunning))
	s.AddPending("echo", "t2", 1, "x", time.Now())
	// The timeout event comes first; the call's error after it.
	s.Apply([]supervisor.Event{{Type: supervisor.EventTask, Plugin: "echo", Instance: "echo",
		Task: &supervisor.TaskEvent{ID: 1, Token: "t2", Content: "x", Outcome: supervisor.OutcomeTimedOut, Detail: "no final reply within 1s"}}})
	s.Resolve("echo", supervisor.Reply{Token: "t2", Outcome: supervisor.OutcomeTimedOut}, fmt.Errorf("%w after 1s", supervisor.ErrTaskTimeout))
	// A task someone else sent, announced, then lost with its plugin.
	s.Apply([]supervisor.Event{
		{Type: supervisor.EventTask, Plugin: "echo", Instance: "echo", Task: &supervisor.TaskEvent{ID: 2, Token: "e-1", Outcome: supervisor.OutcomePending}},
		{Type: supervisor.EventTask, Plugin: "echo", Instance: "echo", Task: &supervisor.TaskEvent{ID: 2, Token: "e-1", Outcome: supervisor.OutcomeGone, Detail: "plugin disconnected"}},
	})
	ts, _ := s.Tasks("echo")
	if ts.Len() != 3 {
		t.Fatalf("%d round trips, want 3", ts.Len())
	}
	if first := ts.At(0); first.Outcome != supervisor.OutcomeNotSent || first.Token != "c-1" || !strings.Contains(first.Detail, "not running") {
		t.Errorf("not-running task: %+v", first)
	}
	if second := ts.At(1); second.Outcome != supervisor.OutcomeTimedOut || second.Token != "t2" {
		t.Errorf("timed-out task: %+v", second)
	}
	if third := ts.At(2); third.Outcome != supervisor.OutcomeGone || third.Mine || third.Detail != "plugin disconnected" {
		t.Errorf("someone else's task: %+v", third)
	}
}

func TestSnapshotKeepsNewerEventState(t *testing.T) {
	s := New()
	old := time.Now()
	s.SetSnapshot([]supervisor.PluginStatus{{Name: "a", Instance: "a", State: supervisor.StateRunning, Since: old}}, supervisor.Info{})
	s.Apply([]supervisor.Event{{Type: supervisor.EventState, Time: old.Add(time.Second), Plugin: "a", Instance: "a", State: supervisor.StateStopping}})
	// A snapshot taken before that event arrives late.
	s.SetSnapshot([]supervisor.PluginStatus{{Name: "a", Instance: "a", State: supervisor.StateRunning, Since: old, PID: 42}}, supervisor.Info{})
	p := s.Plugin("a")
	if p.Status.State != supervisor.StateStopping || p.Status.PID != 42 {
		t.Fatalf("status %+v", p.Status)
	}
	// Instances gone from the snapshot are dropped.
	s.SetSnapshot(nil, supervisor.Info{})
	if s.Len() != 0 || s.Plugin("a") != nil {
		t.Fatal("removed instance kept")
	}
}

func TestBackfillSkipsLinesAlreadyHeld(t *testing.T) {
	s := New()
	s.SetSnapshot([]supervisor.PluginStatus{{Name: "a", Instance: "a"}}, supervisor.Info{})
	t0 := time.Now()
	line := func(i int) supervisor.LogLine {
		return supervisor.LogLine{Time: t0.Add(time.Duration(i) * time.Second), Text: fmt.Sprint(i)}
	}
	s.Apply([]supervisor.Event{{Type: supervisor.EventLog, Plugin: "a", Instance: "a", Log: line(3)}})
	s.Backfill("a", []supervisor.LogLine{line(1), line(2), line(3)})
	logs := s.Plugin("a").Logs
	if logs.Len() != 3 || logs.At(0).Text != "1" || logs.At(2).Text != "3" {
		t.Fatalf("logs: %d lines", logs.Len())
	}
}
