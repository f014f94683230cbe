package state

import (
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

func stateEvent(at time.Time, inst string, st supervisor.State) supervisor.Event {
	return supervisor.Event{Type: supervisor.EventState, Time: at, Plugin: inst, Instance: inst, State: st}
}

func histRecords(at time.Time, inst, seq string) supervisor.Event {
	return supervisor.Event{Type: supervisor.EventRecords, Time: at, Plugin: inst, Instance: inst,
		Records: []protocol.Record{{Fields: map[string]string{"seq": seq}}}}
}

// TestBackfillSkipsWhatCameLiveToo: an event published between the
// subscription and the History call comes both ways, before or after the
// History result is folded; the console keeps it once, in time order.
func TestBackfillSkipsWhatCameLiveToo(t *testing.T) {
	t0 := time.Unix(1000, 0)
	past := []supervisor.Event{stateEvent(t0, "a", "starting"), stateEvent(t0.Add(time.Second), "a", "running"), stateEvent(t0.Add(2*time.Second), "a", "stopping")}
	s := New()
	// The live copy of one arrives first, then History, then the live copy
	// of the next, which History had too (live events come in order).
	s.Apply(past[1:2])
	s.BackfillHistory(past)
	s.Apply(past[2:])
	s.Apply([]supervisor.Event{stateEvent(t0.Add(3*time.Second), "a", "stopped")})
	ev := s.Events()
	var got []supervisor.State
	for i := range ev.Len() {
		got = append(got, ev.At(i).State)
	}
	if want := []supervisor.State{"starting", "running", "stopping", "stopped"}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Fatalf("events %v, want %v", got, want)
	}

	// Records: those of History go in front; a live batch History had is skipped.
	recs := []supervisor.Event{histRecords(t0, "a", "1"), histRecords(t0.Add(time.Second), "a", "2")}
	s.BackfillActivity("a", recs)
	s.Apply(append(recs[1:], histRecords(t0.Add(2*time.Second), "a", "3")))
	p := s.Plugin("a")
	if p.Records.Len() != 3 || p.Records.At(0).Fields["seq"] != "1" || p.Records.At(2).Fields["seq"] != "3" {
		t.Fatalf("%d records, want seq 1, 2, 3 once each", p.Records.Len())
	}

	// Tasks: known by token, merged in the order they were sent.
	task := func(at time.Time, token string) supervisor.Event {
		return supervisor.Event{Type: supervisor.EventTask, Time: at, Plugin: "a", Instance: "a", Task: &supervisor.TaskEvent{
			Sent: at, Token: token, Outcome: supervisor.OutcomeAnswered, Reply: supervisor.Reply{Token: token, Outcome: supervisor.OutcomeAnswered}}}
	}
	s.Apply([]supervisor.Event{task(t0.Add(5*time.Second), "new")})
	s.BackfillActivity("a", []supervisor.Event{task(t0, "old"), task(t0.Add(5*time.Second), "new")})
	ts, _ := s.Tasks("a")
	if ts.Len() != 2 || ts.At(0).Token != "old" || ts.At(1).Token != "new" || !ts.At(0).Outcome.OK() {
		t.Fatalf("%d round trips, want old then new", ts.Len())
	}
}

// TestBackfilledKeysPruned: only past events at or after the first live
// one can come live again, so only their keys are kept; a live event newer
// than all of History's ends the window and the set with it.
func TestBackfilledKeysPruned(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var past []supervisor.Event
	for i := range 1000 {
		past = append(past, stateEvent(t0.Add(time.Duration(i)*time.Millisecond), "a", "running"))
	}
	s := New()
	s.Apply([]supervisor.Event{stateEvent(t0.Add(995*time.Millisecond), "a", "stopping")})
	s.BackfillHistory(past)
	if n := len(s.hist.backfilled); n > 5 {
		t.Fatalf("%d keys kept for 1,000 past events of which 4 can come live", n)
	}
	s.Apply([]supervisor.Event{stateEvent(t0.Add(2*time.Second), "a", "stopped")})
	if s.hist.backfilled != nil {
		t.Errorf("%d keys kept after a live event newer than all past ones", len(s.hist.backfilled))
	}
}

// TestHistoryRingsAreBounded: a flood of state changes and log lines keeps
// the console's rings within their count and bytes.
func TestHistoryRingsAreBounded(t *testing.T) {
	s := New()
	reason := string(make([]byte, 4<<10))
	var batch []supervisor.Event
	for i := range 3 * MaxEvents {
		e := stateEvent(time.Unix(int64(i), 0), "a", "running")
		e.Reason = reason
		batch = append(batch, e, supervisor.Event{Type: supervisor.EventSupervisorLog, Time: e.Time,
			SupervisorLog: &supervisor.SupervisorLog{Level: "INFO", Message: reason}})
	}
	s.Apply(batch)
	for name, r := range map[string]interface {
		Len() int
		Bytes() int64
		Evicted() uint64
	}{"events": s.Events(), "supervisor log": s.SupervisorLog()} {
		if r.Len() > MaxEvents || r.Bytes() > 2<<20 || r.Evicted() == 0 {
			t.Fatalf("%s: %d held, %d bytes, %d evicted", name, r.Len(), r.Bytes(), r.Evicted())
		}
	}
}
