package supervisor

import (
	"container/heap"
	"time"
)

// expiries orders a session's pending tasks by deadline, so that one timer
// per session, not one per task, times them out. The timer is armed for
// the earliest deadline or sooner and is never stopped when a task ends:
// firing early only re-arms it. With one timeout for every task, as the
// agent's task_timeout gives, a new task's deadline is never the earliest
// but after the first, and a stream of tasks touches the timer once per
// timeout rather than twice per task. Guarded by the session's mu.
type expiries struct {
	tasks taskHeap
	fire  func()      // what the timer runs: the session's onExpiry
	timer *time.Timer // made on first use
	armed time.Time   // when the timer fires; zero when it is not armed
}

// add puts p, whose deadline is set, among the expiries.
func (e *expiries) add(p *pendingTask) {
	heap.Push(&e.tasks, p)
	if e.armed.IsZero() || p.deadline.Before(e.armed) {
		e.arm(p.deadline)
	}
}

// remove takes p out, if it is in.
func (e *expiries) remove(p *pendingTask) {
	if p.slot >= 0 {
		heap.Remove(&e.tasks, p.slot)
	}
}

// due takes out every task whose deadline is not after now, in deadline
// order, and arms the timer for the next. Call it when the timer fires.
func (e *expiries) due(now time.Time) []*pendingTask {
	e.armed = time.Time{}
	var out []*pendingTask
	for len(e.tasks) > 0 && !e.tasks[0].deadline.After(now) {
		out = append(out, heap.Pop(&e.tasks).(*pendingTask))
	}
	if len(e.tasks) > 0 {
		e.arm(e.tasks[0].deadline)
	}
	return out
}

// clear forgets every task and stops the timer: the session has ended.
func (e *expiries) clear() {
	for _, p := range e.tasks {
		p.slot = -1
	}
	e.tasks, e.armed = nil, time.Time{}
	if e.timer != nil {
		e.timer.Stop()
	}
}

func (e *expiries) arm(at time.Time) {
	e.armed = at
	d := time.Until(at)
	if e.timer == nil {
		e.timer = time.AfterFunc(d, e.fire)
		return
	}
	e.timer.Reset(d)
}

// taskHeap is a min-heap of pending tasks by deadline; each task knows its
// slot, so a task answered in time leaves it in O(log n).
type taskHeap []*pendingTask

func (h taskHeap) Len() int           { return len(h) }
func (h taskHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h taskHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].slot, h[j].slot = i, j
}

func (h *taskHeap) Push(x any) {
	p := x.(*pendingTask)
	p.slot = len(*h)
	*h = append(*h, p)
}

func (h *taskHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	p.slot = -1
	return p
}
