package state

import (
	"cmp"
	"slices"
	"time"

	"github.com/plugvisor/plugvisor/internal/ring"
	"github.com/plugvisor/plugvisor/supervisor"
)

// Bounds of the console's history: every plugin's state changes in one
// ring, the supervisor's log in another, each by count and by bytes.
const (
	MaxEvents        = 2000
	MaxSupervisorLog = 2000
	eventsBudget     = 2 << 20
	supervisorBudget = 2 << 20
)

// history is what the console keeps of what happened: state changes of
// every instance and the supervisor's own log, each newest last. An event
// can reach the console twice, from History and live, when it happened
// between the subscription and the History call: backfilled remembers the
// events History brought that can still come live (none older than the
// first live event), so the live copy is skipped. Once a live event newer
// than every past one arrives, no copy can follow and the set goes.
type history struct {
	Events     *ring.Ring[supervisor.Event]
	Supervisor *ring.Ring[supervisor.Event]
	backfilled map[eventKey]struct{}
	firstLive  time.Time // time of the first live event; zero before it
	newestPast time.Time // time of the newest event History brought
}

// eventKey tells one state change or log line from another.
type eventKey struct {
	t        supervisor.EventType
	instance string
	at       int64
	what     string
}

func keyOf(e *supervisor.Event) eventKey {
	k := eventKey{t: e.Type, instance: e.Instance, at: e.Time.UnixNano(), what: string(e.State)}
	if l := e.SupervisorLog; l != nil {
		k.what = l.Message
	}
	return k
}

func eventSize(e supervisor.Event) int64 { return e.Size() }

func newHistory() history {
	return history{
		Events:     ring.New(MaxEvents, ring.WithBudget(eventsBudget, eventSize)),
		Supervisor: ring.New(MaxSupervisorLog, ring.WithBudget(supervisorBudget, eventSize)),
	}
}

// keep folds a live state change or supervisor log line.
func (h *history) keep(e *supervisor.Event) {
	if h.firstLive.IsZero() {
		h.firstLive = e.Time
	}
	if len(h.backfilled) > 0 {
		k := keyOf(e)
		if _, dup := h.backfilled[k]; dup {
			delete(h.backfilled, k)
			return
		}
		if e.Time.After(h.newestPast) {
			h.backfilled = nil // live is past all History brought: no copy can follow
		}
	}
	switch e.Type {
	case supervisor.EventState:
		h.Events.Push(*e)
	case supervisor.EventSupervisorLog:
		h.Supervisor.Push(*e)
	}
}

// merge puts events from History among those held, in time order, skipping
// those already held.
func (h *history) merge(r *ring.Ring[supervisor.Event], past []supervisor.Event) {
	if len(past) == 0 {
		return
	}
	have := r.Last(r.Len())
	held := make(map[eventKey]struct{}, len(have))
	for i := range have {
		held[keyOf(&have[i])] = struct{}{}
	}
	all := have
	for i := range past {
		k := keyOf(&past[i])
		if _, ok := held[k]; ok {
			continue
		}
		if h.firstLive.IsZero() || !past[i].Time.Before(h.firstLive) {
			if h.backfilled == nil {
				h.backfilled = map[eventKey]struct{}{}
			}
			h.backfilled[k] = struct{}{} // may still come live
		}
		if past[i].Time.After(h.newestPast) {
			h.newestPast = past[i].Time
		}
		all = append(all, past[i])
	}
	slices.SortStableFunc(all, func(a, b supervisor.Event) int { return a.Time.Compare(b.Time) })
	r.Reset()
	for _, e := range all {
		r.Push(e)
	}
}

// Events are every instance's state changes, oldest first.
func (s *Store) Events() *ring.Ring[supervisor.Event] { return s.hist.Events }

// SupervisorLog is the supervisor's own log, oldest first.
func (s *Store) SupervisorLog() *ring.Ring[supervisor.Event] { return s.hist.Supervisor }

// BackfillHistory takes in what History kept from before the console
// subscribed: state changes and supervisor log lines.
func (s *Store) BackfillHistory(past []supervisor.Event) {
	var states, logs []supervisor.Event
	for _, e := range past {
		switch e.Type {
		case supervisor.EventState:
			states = append(states, e)
		case supervisor.EventSupervisorLog:
			logs = append(logs, e)
		}
	}
	s.hist.merge(s.hist.Events, states)
	s.hist.merge(s.hist.Supervisor, logs)
}

// BackfillActivity takes in what History kept of an instance's records and
// tasks from before the console subscribed. Records go in front of those
// received since; the records events History brought up to its newest are
// skipped when they arrive live as well (one publisher per instance, so
// times order them). Tasks are known by token and merged in time order.
func (s *Store) BackfillActivity(id string, past []supervisor.Event) {
	p := s.plugins[id]
	if p == nil {
		return
	}
	var recs []Record
	var tasks []supervisor.Event
	for _, e := range past {
		switch {
		case e.Type == supervisor.EventRecords:
			for _, r := range e.Records {
				recs = append(recs, Record{Received: e.Time, Record: r})
			}
			p.recordsUpTo = e.Time
		case e.Type == supervisor.EventTask && e.Task != nil:
			tasks = append(tasks, e)
		}
	}
	p.prependRecords(recs)
	s.backfillTasks(p.Status.Name, tasks)
	s.shed()
}

func (p *Plugin) prependRecords(past []Record) {
	if len(past) == 0 {
		return
	}
	have := p.Records.Last(p.Records.Len())
	if len(have) > 0 {
		first := have[0].Received
		n, _ := slices.BinarySearchFunc(past, first, func(r Record, t time.Time) int { return r.Received.Compare(t) })
		past = past[:n]
	}
	p.Records.Reset()
	for _, r := range append(past, have...) {
		p.Records.Push(r)
	}
}

// skipRecords reports whether a live records event was already backfilled.
func (p *Plugin) skipRecords(e *supervisor.Event) bool {
	return !p.recordsUpTo.IsZero() && !e.Time.After(p.recordsUpTo)
}

func (s *Store) backfillTasks(plugin string, past []supervisor.Event) {
	if len(past) == 0 {
		return
	}
	ts := s.tasksOf(plugin)
	have := ts.ring.Last(ts.ring.Len())
	for _, e := range past {
		if ts.byToken[e.Task.Token] != nil {
			continue
		}
		t := &Task{Plugin: plugin, Instance: e.Instance, Sent: e.Task.Sent, ID: e.Task.ID, Token: e.Task.Token,
			Content: e.Task.Content, Outcome: supervisor.OutcomePending}
		t.update(e.Task.Outcome, e.Task.Reply, e.Task.Detail, ts.reply)
		have = append(have, t)
		ts.byToken[t.Token] = t
	}
	slices.SortStableFunc(have, func(a, b *Task) int { return cmp.Compare(a.Sent.UnixNano(), b.Sent.UnixNano()) })
	ts.ring.Reset()
	clear(ts.byToken)
	for _, t := range have {
		ts.push(t)
	}
	ts.rev++
}
