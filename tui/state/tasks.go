package state

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// TaskStatus is where a round trip stands.
type TaskStatus int

// Round-trip outcomes.
const (
	TaskPending TaskStatus = iota
	TaskAnswered
	TaskFailed // an error reply, or the plugin went away
	TaskTimedOut
)

func (t TaskStatus) String() string {
	return [...]string{"pending", "answered", "failed", "timed out"}[t]
}

// Task is one round trip, sent by this console or by anyone else.
type Task struct {
	Seq      uint64 // this console's number for it; 0 when sent elsewhere
	Plugin   string
	Instance string // "" until known, when sent to a plugin with several instances
	ID       uint32
	Token    string
	Content  string
	Sent     time.Time
	Status   TaskStatus
	Reply    supervisor.Reply
	Err      string
	RTT      time.Duration

	// awaitEvent: an event for this task may still come (it was sent), so
	// an event without a known token may be this one.
	awaitEvent bool
}

// Records is how many reply records arrived.
func (t *Task) Records() int { return len(t.Reply.Records) }

// tasks is one plugin's round trips with a revision that also counts in-place
// updates (pending → answered), which the ring's Total does not.
type tasks struct {
	ring *Ring[*Task]
	rev  uint64
}

func (s *Store) tasksOf(plugin string) *tasks {
	t := s.tasks[plugin]
	if t == nil {
		t = &tasks{ring: NewRing[*Task](MaxRoundTrips)}
		s.tasks[plugin] = t
	}
	return t
}

// Tasks returns a plugin's round trips (oldest first) and their revision.
func (s *Store) Tasks(plugin string) (*Ring[*Task], uint64) {
	t := s.tasksOf(plugin)
	return t.ring, t.rev
}

// AddPending records a task this console is about to send to target (a
// plugin name or an instance id) and returns its number for Resolve.
func (s *Store) AddPending(target string, id uint32, content string, sent time.Time) uint64 {
	s.seq++
	t := &Task{Seq: s.seq, Plugin: target, ID: id, Content: content, Sent: sent, awaitEvent: true}
	if p := s.plugins[target]; p != nil {
		t.Plugin, t.Instance = p.Status.Name, p.Status.Instance
	}
	ts := s.tasksOf(t.Plugin)
	ts.ring.Push(t)
	ts.rev++
	return t.Seq
}

// Resolve records the outcome of a task this console sent.
func (s *Store) Resolve(seq uint64, target string, reply supervisor.Reply, err error) {
	plugin := target
	if p := s.plugins[target]; p != nil {
		plugin = p.Status.Name
	}
	ts := s.tasksOf(plugin)
	t := ts.find(func(t *Task) bool { return t.Seq == seq })
	if t == nil {
		return // pushed out of the buffer meanwhile
	}
	ts.rev++
	if err != nil {
		if t.Status == TaskPending {
			t.Status, t.Err = errStatus(err.Error(), errors.Is(err, supervisor.ErrTaskTimeout) || errors.Is(err, context.DeadlineExceeded)), err.Error()
			t.awaitEvent = t.Token == "" && !neverSent(err)
		}
		return
	}
	t.setReply(reply)
}

// foldTask merges a task event with the round trip this console already
// shows for it (matched by token, or a pending one of ours by id and
// content), or adds it.
func (s *Store) foldTask(plugin, instance string, e *supervisor.TaskEvent) {
	ts := s.tasksOf(plugin)
	ts.rev++
	t := ts.find(func(t *Task) bool { return t.Token != "" && t.Token == e.Token })
	if t == nil {
		t = ts.findOldest(func(t *Task) bool {
			return t.Token == "" && t.awaitEvent && t.ID == e.ID && t.Content == e.Content &&
				(t.Instance == "" || t.Instance == instance)
		})
	}
	if t == nil {
		t = &Task{Plugin: plugin, Sent: e.Sent, ID: e.ID, Content: e.Content}
		ts.ring.Push(t)
	}
	t.Instance, t.Token, t.awaitEvent = instance, e.Token, false
	if e.Err != "" {
		t.Status, t.Err = errStatus(e.Err, false), e.Err
		return
	}
	t.setReply(e.Reply)
}

func (t *Task) setReply(r supervisor.Reply) {
	t.Reply, t.RTT, t.Token = r, r.RTT, r.Token
	if r.Instance != "" {
		t.Instance = r.Instance
	}
	if r.Status == protocol.StatusOK {
		t.Status, t.Err = TaskAnswered, ""
	} else {
		t.Status, t.Err = TaskFailed, r.Error
	}
}

// neverSent reports errors after which the engine publishes no task event.
func neverSent(err error) bool {
	for _, e := range []error{supervisor.ErrNotRunning, supervisor.ErrUnknownPlugin, supervisor.ErrTooManyTasks, supervisor.ErrClosed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func errStatus(text string, timeout bool) TaskStatus {
	if timeout || strings.Contains(text, supervisor.ErrTaskTimeout.Error()) || strings.Contains(text, context.DeadlineExceeded.Error()) {
		return TaskTimedOut
	}
	return TaskFailed
}

// find searches newest first: the task wanted is almost always recent.
func (ts *tasks) find(match func(*Task) bool) *Task {
	for i := ts.ring.Len() - 1; i >= 0; i-- {
		if t := ts.ring.At(i); match(t) {
			return t
		}
	}
	return nil
}

func (ts *tasks) findOldest(match func(*Task) bool) *Task {
	for i := 0; i < ts.ring.Len(); i++ {
		if t := ts.ring.At(i); match(t) {
			return t
		}
	}
	return nil
}
