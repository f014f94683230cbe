package state

import (
	"strconv"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

func taskEvent(token string, id uint32, content string) supervisor.Event {
	return supervisor.Event{Type: supervisor.EventTask, Plugin: "echo", Instance: "echo", Time: time.Now(),
		Task: &supervisor.TaskEvent{ID: id, Token: token, Content: content, Outcome: supervisor.OutcomeAnswered,
			Reply: supervisor.Reply{Token: token, ID: id, Outcome: supervisor.OutcomeAnswered, Status: protocol.StatusOK}}}
}

// TestTaskIndexFollowsEviction fills the ring past its bound: the token
// index holds exactly what the ring holds, an event for a forgotten round
// trip adds a new one, and one for a kept round trip updates it in place.
func TestTaskIndexFollowsEviction(t *testing.T) {
	s := New()
	var batch []supervisor.Event
	for i := range 2 * MaxRoundTrips {
		batch = append(batch, taskEvent("t"+strconv.Itoa(i), 1, "c"))
	}
	s.Apply(batch)
	ts := s.tasksOf("echo")
	if ts.ring.Len() != MaxRoundTrips || len(ts.byToken) != MaxRoundTrips {
		t.Fatalf("ring %d, token index %d; want %d each", ts.ring.Len(), len(ts.byToken), MaxRoundTrips)
	}
	for i := range ts.ring.Len() {
		if tk := ts.ring.At(i); ts.byToken[tk.Token] != tk {
			t.Fatalf("round trip %s not indexed", tk.Token)
		}
	}
	s.Apply([]supervisor.Event{taskEvent("t0", 1, "c")}) // forgotten: a new round trip
	if got := ts.ring.At(ts.ring.Len() - 1).Token; got != "t0" || ts.ring.At(0).Token != "t1001" {
		t.Fatalf("newest %q, oldest %q", got, ts.ring.At(0).Token)
	}
	total := ts.ring.Total()
	ev := taskEvent("t1500", 1, "c")
	ev.Task.Outcome, ev.Task.Reply.Outcome, ev.Task.Reply.Error = supervisor.OutcomeError, supervisor.OutcomeError, "boom"
	s.Apply([]supervisor.Event{ev}) // kept: updated in place
	if ts.ring.Total() != total || ts.byToken["t1500"].Outcome != supervisor.OutcomeError || ts.byToken["t1500"].Detail != "boom" {
		t.Fatalf("kept round trip not updated in place: total %d → %d, %+v", total, ts.ring.Total(), ts.byToken["t1500"])
	}

	// This console's round trips: evicted ones leave the token index, and
	// a later Resolve of one is ignored.
	s.AddPending("echo", "first", 9, "mine", time.Now())
	for i := range MaxRoundTrips {
		s.AddPending("echo", "mine-"+strconv.Itoa(i), 9, "mine", time.Now())
	}
	if len(ts.byToken) != MaxRoundTrips || ts.byToken["first"] != nil {
		t.Fatalf("token index %d, first still indexed: %v", len(ts.byToken), ts.byToken["first"] != nil)
	}
	s.Resolve("echo", supervisor.Reply{Token: "first", Outcome: supervisor.OutcomeAnswered, Status: protocol.StatusOK}, nil)
	if ts.byToken["first"] != nil {
		t.Fatal("a forgotten round trip was resolved")
	}
	// An event for one of ours finds it by token.
	s.Apply([]supervisor.Event{taskEvent("mine-0", 9, "mine")})
	if tk := ts.byToken["mine-0"]; tk == nil || !tk.Mine || tk.Outcome != supervisor.OutcomeAnswered {
		t.Fatalf("event matched %+v", tk)
	}
}

// BenchmarkFoldTaskEvents folds task events into a plugin whose ring is
// full (1,000 round trips): each event adds a round trip and evicts one,
// or updates one held, as a busy plugin's task stream does.
func BenchmarkFoldTaskEvents(b *testing.B) {
	s := New()
	const n = 4 * MaxRoundTrips
	evs := make([]supervisor.Event, n)
	for i := range evs {
		evs[i] = taskEvent("tok-"+strconv.Itoa(i), uint32(i), "x")
	}
	s.Apply(evs[:MaxRoundTrips])
	s.AddPending("echo", "pending", 1, "pending", time.Now()) // one of ours waits throughout (until evicted)
	b.Run("new", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			s.Apply(evs[i%n : i%n+1])
		}
	})
	b.Run("update", func(b *testing.B) {
		ts := s.tasksOf("echo")
		held := make([]supervisor.Event, 0, ts.ring.Len())
		for i := range ts.ring.Len() {
			if tk := ts.ring.At(i); tk.Token != "" {
				held = append(held, taskEvent(tk.Token, tk.ID, tk.Content))
			}
		}
		for i := 0; b.Loop(); i++ {
			s.Apply(held[i%len(held) : i%len(held)+1])
		}
	})
}
