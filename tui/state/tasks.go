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
	Cut      int // older progress records of the reply this console did not keep (Budgets.Reply)

	seq uint64 // its place in the ring's arrivals, to find it there when it grows
}

// Records is how many reply records reached this console.
func (t *Task) Records() int { return len(t.Reply.Records) + t.Cut }

// tasks is one plugin's round trips with a revision that also counts in-place
// updates (pending → answered), which the ring's Total does not. The token
// index is kept in step with the ring, which forgets the oldest round trips
// when it is full or past its bytes.
type tasks struct {
	ring    *ring.Ring[*Task]
	rev     uint64
	byToken map[string]*Task
	reply   int64 // Budgets.Reply
}

func (s *Store) tasksOf(plugin string) *tasks {
	ts := s.tasks[plugin]
	if ts == nil {
		ts = &tasks{byToken: map[string]*Task{}, reply: s.budgets.Reply}
		ts.ring = ring.New(MaxRoundTrips, ring.WithBudget(s.budgets.Tasks, taskSize), ring.WithEvict(ts.forget))
		s.tasks[plugin] = ts
	}
	return ts
}

// forget drops an evicted round trip from the token index, unless a newer
// one took its token.
func (ts *tasks) forget(t *Task) {
	if ts.byToken[t.Token] == t {
		delete(ts.byToken, t.Token)
	}
}

// push adds a round trip.
func (ts *tasks) push(t *Task) {
	ts.ring.Push(t)
	t.seq = ts.ring.Total()
	ts.byToken[t.Token] = t
}

// recharge tells the ring that t, held, changed size.
func (ts *tasks) recharge(t *Task) {
	base := ts.ring.Total() - uint64(ts.ring.Len())
	if i := int(t.seq - base - 1); t.seq > base && i < ts.ring.Len() && ts.ring.At(i) == t {
		ts.ring.Recharge(i)
	}
}

// update takes in an outcome for t and charges the ring what it now holds.
// It returns how many reply records were cut.
func (ts *tasks) update(t *Task, o supervisor.Outcome, r supervisor.Reply, detail string) int {
	before := t.Cut
	if !t.update(o, r, detail, ts.reply) {
		return 0
	}
	ts.recharge(t)
	return max(t.Cut-before, 0)
}

// Tasks returns a plugin's round trips (oldest first) and their revision,
// which also moves when the totals trim them.
func (s *Store) Tasks(plugin string) (*ring.Ring[*Task], uint64) {
	t := s.tasksOf(plugin)
	return t.ring, t.rev + t.ring.Evicted()
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
	s.ReplyCut += uint64(ts.update(t, reply.Outcome, reply, detail))
	s.shed()
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
	s.ReplyCut += uint64(ts.update(t, e.Outcome, e.Reply, e.Detail))
}

// update takes in an outcome, keeping of the reply what fits in budget,
// and reports whether it did. The call's result and the events travel
// apart, so a late pending event must not undo a final outcome.
func (t *Task) update(o supervisor.Outcome, r supervisor.Reply, detail string, budget int64) bool {
	if !o.Final() {
		return false
	}
	if t.Outcome.Final() && t.Outcome != supervisor.OutcomeNotSent && o == supervisor.OutcomeNotSent {
		return false // the call gave up on a task the engine did send
	}
	if o == t.Outcome && r.Instance == "" && t.Reply.Instance != "" {
		return false // a caller's own deadline, late: the engine's figures stay
	}
	t.Outcome, t.Reply, t.RTT = o, r, r.RTT
	t.Cut = cutReply(&t.Reply, budget)
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
	return true
}
