package state

import (
	"time"

	"github.com/plugvisor/plugvisor/internal/ring"
	"github.com/plugvisor/plugvisor/supervisor"
)

// Task is one round trip, sent by this console or by anyone else, known by
// its token: this console chooses the tokens of its own tasks before they
// are sent, and the engine announces everyone's with a pending event, so an
// outcome always finds its row.
type Task struct {
	Mine     bool // sent by this console
	Plugin   string
	Instance string // "" until known, when sent to a plugin with several instances
	ID       uint32
	Token    string
	Content  string
	Sent     time.Time
	Outcome  supervisor.Outcome
	Reply    supervisor.Reply
	Detail   string // why it did not succeed, for people
	RTT      time.Duration
}

// Records is how many reply records arrived.
func (t *Task) Records() int { return len(t.Reply.Records) }

// tasks is one plugin's round trips with a revision that also counts in-place
// updates (pending → answered), which the ring's Total does not. The token
// index is kept in step with the ring, which forgets the oldest round trip
// when it is full.
type tasks struct {
	ring    *ring.Ring[*Task]
	rev     uint64
	byToken map[string]*Task
}

func (s *Store) tasksOf(plugin string) *tasks {
	t := s.tasks[plugin]
	if t == nil {
		t = &tasks{ring: ring.New[*Task](MaxRoundTrips), byToken: map[string]*Task{}}
		s.tasks[plugin] = t
	}
	return t
}

// push adds a round trip, forgetting the one the full ring drops.
func (ts *tasks) push(t *Task) {
	if ts.ring.Len() == ts.ring.Limit() {
		if old := ts.ring.At(0); ts.byToken[old.Token] == old {
			delete(ts.byToken, old.Token)
		}
	}
	ts.ring.Push(t)
	ts.byToken[t.Token] = t
}

// Tasks returns a plugin's round trips (oldest first) and their revision.
func (s *Store) Tasks(plugin string) (*ring.Ring[*Task], uint64) {
	t := s.tasksOf(plugin)
	return t.ring, t.rev
}

// pluginOf maps a target (a plugin name or an instance id) to its plugin.
func (s *Store) pluginOf(target string) (plugin, instance string) {
	if p := s.plugins[target]; p != nil {
		return p.Status.Name, p.Status.Instance
	}
	return target, ""
}

// AddPending records a task this console is about to send to target with
// token; the engine's events and the call's result find it by the token.
func (s *Store) AddPending(target, token string, id uint32, content string, sent time.Time) {
	plugin, instance := s.pluginOf(target)
	ts := s.tasksOf(plugin)
	ts.rev++
	if ts.byToken[token] != nil {
		return
	}
	ts.push(&Task{Mine: true, Plugin: plugin, Instance: instance, ID: id, Token: token, Content: content,
		Sent: sent, Outcome: supervisor.OutcomePending})
}

// Resolve records what SendTask returned for a task this console sent. A
// round trip pushed out of the buffer meanwhile stays forgotten.
func (s *Store) Resolve(target string, reply supervisor.Reply, err error) {
	plugin, _ := s.pluginOf(target)
	ts := s.tasksOf(plugin)
	t := ts.byToken[reply.Token]
	if t == nil {
		return
	}
	ts.rev++
	detail := ""
	if err != nil {
		detail = err.Error()
	}
	t.update(reply.Outcome, reply, detail)
}

// foldTask merges a task event into the round trip of its token, or adds
// one for a task someone else sent.
func (s *Store) foldTask(plugin, instance string, e *supervisor.TaskEvent) {
	ts := s.tasksOf(plugin)
	ts.rev++
	t := ts.byToken[e.Token]
	if t == nil {
		t = &Task{Plugin: plugin, Sent: e.Sent, ID: e.ID, Token: e.Token, Content: e.Content, Outcome: supervisor.OutcomePending}
		ts.push(t)
	}
	t.Instance = instance
	if t.Sent.IsZero() || !e.Sent.IsZero() {
		t.Sent = e.Sent
	}
	t.update(e.Outcome, e.Reply, e.Detail)
}

// update takes in an outcome. The call's result and the events travel
// apart, so a late pending event must not undo a final outcome.
func (t *Task) update(o supervisor.Outcome, r supervisor.Reply, detail string) {
	if !o.Final() {
		return
	}
	if t.Outcome.Final() && t.Outcome != supervisor.OutcomeNotSent && o == supervisor.OutcomeNotSent {
		return // the call gave up on a task the engine did send
	}
	t.Outcome, t.Reply, t.RTT = o, r, r.RTT
	if r.Instance != "" {
		t.Instance = r.Instance
	}
	switch {
	case o == supervisor.OutcomeError:
		t.Detail = r.Error
	case o.OK():
		t.Detail = ""
	case detail != "":
		t.Detail = detail
	}
}
