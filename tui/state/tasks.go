package state

import (
	"cmp"
	"context"
	"errors"
	"slices"
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
// updates (pending → answered), which the ring's Total does not. Indexes
// beside the ring find a round trip without scanning it (up to
// MaxRoundTrips): they are kept in step with the ring, which forgets the
// oldest round trip when it is full.
type tasks struct {
	ring    *Ring[*Task]
	rev     uint64
	byToken map[string]*Task // every round trip with a token
	bySeq   map[uint64]*Task // this console's round trips
	// waiting are this console's round trips without a token whose event may
	// still come, oldest first: the few an event without a known token may
	// belong to.
	waiting []*Task
}

func (s *Store) tasksOf(plugin string) *tasks {
	t := s.tasks[plugin]
	if t == nil {
		t = &tasks{ring: NewRing[*Task](MaxRoundTrips), byToken: map[string]*Task{}, bySeq: map[uint64]*Task{}}
		s.tasks[plugin] = t
	}
	return t
}

// push adds a round trip, forgetting the one the full ring drops.
func (ts *tasks) push(t *Task) {
	if ts.ring.Len() == ts.ring.Limit() {
		old := ts.ring.At(0)
		if old.Token != "" && ts.byToken[old.Token] == old {
			delete(ts.byToken, old.Token)
		}
		if old.Seq != 0 && ts.bySeq[old.Seq] == old {
			delete(ts.bySeq, old.Seq)
		}
		ts.setAwait(old, false)
	}
	ts.ring.Push(t)
	if t.Seq != 0 {
		ts.bySeq[t.Seq] = t
	}
	if t.Token != "" {
		ts.byToken[t.Token] = t
	}
	ts.setAwait(t, t.awaitEvent)
}

// setToken changes a round trip's token and the index with it.
func (ts *tasks) setToken(t *Task, token string) {
	if t.Token == token {
		return
	}
	if t.Token != "" && ts.byToken[t.Token] == t {
		delete(ts.byToken, t.Token)
	}
	t.Token = token
	if token != "" {
		ts.byToken[token] = t
	}
	ts.setAwait(t, t.awaitEvent)
}

// setAwait sets awaitEvent and keeps waiting (those without a token that
// await their event) in step.
func (ts *tasks) setAwait(t *Task, await bool) {
	t.awaitEvent = await
	want := await && t.Token == "" && t.Seq != 0
	i, found := slices.BinarySearchFunc(ts.waiting, t.Seq, func(w *Task, seq uint64) int { return cmp.Compare(w.Seq, seq) })
	switch {
	case want && !found:
		ts.waiting = slices.Insert(ts.waiting, i, t)
	case !want && found && ts.waiting[i] == t:
		ts.waiting = slices.Delete(ts.waiting, i, i+1)
	}
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
	ts.push(t)
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
	t := ts.bySeq[seq]
	if t == nil {
		return // pushed out of the buffer meanwhile
	}
	ts.rev++
	if err != nil {
		if t.Status == TaskPending {
			t.Status, t.Err = errStatus(err.Error(), errors.Is(err, supervisor.ErrTaskTimeout) || errors.Is(err, context.DeadlineExceeded)), err.Error()
			ts.setAwait(t, t.Token == "" && !neverSent(err))
		}
		return
	}
	ts.setReply(t, reply)
}

// foldTask merges a task event with the round trip this console already
// shows for it (matched by token, or a pending one of ours by id and
// content), or adds it.
func (s *Store) foldTask(plugin, instance string, e *supervisor.TaskEvent) {
	ts := s.tasksOf(plugin)
	ts.rev++
	var t *Task
	if e.Token != "" {
		t = ts.byToken[e.Token]
	}
	if t == nil {
		for _, w := range ts.waiting { // oldest first
			if w.ID == e.ID && w.Content == e.Content && (w.Instance == "" || w.Instance == instance) {
				t = w
				break
			}
		}
	}
	if t == nil {
		t = &Task{Plugin: plugin, Sent: e.Sent, ID: e.ID, Content: e.Content}
		ts.push(t)
	}
	t.Instance = instance
	ts.setAwait(t, false)
	ts.setToken(t, e.Token)
	if e.Err != "" {
		t.Status, t.Err = errStatus(e.Err, false), e.Err
		return
	}
	ts.setReply(t, e.Reply)
}

func (ts *tasks) setReply(t *Task, r supervisor.Reply) {
	t.Reply, t.RTT = r, r.RTT
	ts.setToken(t, r.Token)
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
