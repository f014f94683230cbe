package supervisor

import (
	"testing"
	"time"
)

// TestExpiriesOrder: tasks leave in deadline order whatever order they came
// in, an answered task leaves at once, and the timer is armed for the
// earliest deadline only when a task's is earlier than the one armed.
// Deadlines are an hour away, so the real timer never fires here.
func TestExpiriesOrder(t *testing.T) {
	base := time.Now().Add(time.Hour)
	var e expiries
	e.fire = func() { t.Error("the timer fired") }
	defer e.clear()
	task := func(id uint32, after time.Duration) *pendingTask {
		p := &pendingTask{slot: -1, deadline: base.Add(after)}
		p.task.ID = id
		e.add(p)
		return p
	}
	task(1, 30*time.Second)
	if !e.armed.Equal(base.Add(30 * time.Second)) {
		t.Fatalf("armed for %v, want the first deadline", e.armed.Sub(base))
	}
	task(2, 40*time.Second)
	if !e.armed.Equal(base.Add(30 * time.Second)) {
		t.Fatalf("a later deadline re-armed the timer for %v", e.armed.Sub(base))
	}
	answered := task(3, 10*time.Second)
	if !e.armed.Equal(base.Add(10 * time.Second)) {
		t.Fatalf("an earlier deadline left the timer at %v", e.armed.Sub(base))
	}
	task(4, 20*time.Second)
	e.remove(answered)
	e.remove(answered) // twice: the session's end and a reply may both try
	if answered.slot != -1 || len(e.tasks) != 3 {
		t.Fatalf("answered task still in: slot %d, %d left", answered.slot, len(e.tasks))
	}
	due := e.due(base.Add(35 * time.Second))
	if len(due) != 2 || due[0].task.ID != 4 || due[1].task.ID != 1 {
		t.Fatalf("due at 35s: %v, want tasks 4 then 1", ids(due))
	}
	if !e.armed.Equal(base.Add(40 * time.Second)) {
		t.Fatalf("after the due ones, armed for %v, want 40s", e.armed.Sub(base))
	}
	if due := e.due(base.Add(39 * time.Second)); len(due) != 0 {
		t.Fatalf("an early firing took %v", ids(due))
	}
	if due := e.due(base.Add(40 * time.Second)); len(due) != 1 || due[0].task.ID != 2 || !e.armed.IsZero() {
		t.Fatalf("at 40s: %v, armed %v; want task 2 and the timer idle", ids(due), e.armed)
	}
}

func ids(ps []*pendingTask) []uint32 {
	var out []uint32
	for _, p := range ps {
		out = append(out, p.task.ID)
	}
	return out
}
