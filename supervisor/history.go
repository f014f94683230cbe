package supervisor

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/plugvisor/plugvisor/internal/ring"
	"github.com/plugvisor/plugvisor/protocol"
)

// Bounds of what History keeps. Every ring is bounded in bytes (by the
// estimates of size.go) and in count; what passes a bound is dropped oldest
// first and counted in Info.HistoryDropped.
const (
	// DefaultHistoryMemory is what one instance's history may hold: a
	// third each for its state changes, its tasks and its records.
	DefaultHistoryMemory = 96 << 10
	// supervisorLogMemory is what the supervisor's own log may hold.
	supervisorLogMemory = 256 << 10

	historyStates  = 1000
	historyTasks   = 500
	historyBatches = 1000
	historyLogs    = 2000
)

// history is the engine's memory of what happened, for faces that were not
// watching (a console attached later, a restarted console). It is a
// subscriber of the bus, but one the bus calls as it publishes rather than
// one with a queue: a queue sheds under a flood of records, and a flood is
// when the state changes beside it matter most. So keep must be cheap: one
// lock-free map lookup and an instance's own lock.
type history struct {
	perInstance int64 // bytes of one instance's history, all kinds together

	instances sync.Map // instance id → *instHistory
	logMu     sync.Mutex
	logs      *ring.Ring[Event]

	dropped, droppedBytes atomic.Uint64
}

// instHistory is one instance's kept events, behind its own lock so that
// instances publishing at once do not wait for each other.
type instHistory struct {
	plugin string

	mu                     sync.Mutex
	states, tasks, records *ring.Ring[Event]
}

func newHistory(perInstance int64) *history {
	if perInstance <= 0 {
		perInstance = DefaultHistoryMemory
	}
	h := &history{perInstance: perInstance}
	h.logs = h.newRing(historyLogs, supervisorLogMemory)
	return h
}

// newRing makes a ring whose evictions are counted as History's drops.
func (h *history) newRing(n int, budget int64) *ring.Ring[Event] {
	return ring.New(n, ring.WithBudget(budget, historySize), ring.WithEvict(func(e Event) {
		h.dropped.Add(1)
		h.droppedBytes.Add(uint64(historySize(e)))
	}))
}

// historySize charges an event what the engine measured it at when it was
// published (the frame's bytes, for records) or measures it.
func historySize(e Event) int64 { return e.Size() }

func (h *history) instance(plugin, id string) *instHistory {
	if v, ok := h.instances.Load(id); ok {
		return v.(*instHistory)
	}
	third := h.perInstance / 3
	ih := &instHistory{
		plugin: plugin,
		states: h.newRing(historyStates, third), tasks: h.newRing(historyTasks, third),
		records: h.newRing(historyBatches, third),
	}
	v, _ := h.instances.LoadOrStore(id, ih)
	return v.(*instHistory)
}

// keep takes in an event as it is published; e's time and size are set.
func (h *history) keep(e Event) {
	switch e.Type {
	case EventSupervisorLog:
		h.logMu.Lock()
		h.logs.Push(e)
		h.logMu.Unlock()
		return
	case EventState, EventRecords:
	case EventTask:
		if e.Task == nil || !e.Task.Outcome.Final() {
			return // the final event says all the pending one did
		}
	default:
		return
	}
	ih := h.instance(e.Plugin, e.Instance)
	third := h.perInstance / 3
	ih.mu.Lock()
	defer ih.mu.Unlock()
	switch e.Type {
	case EventState:
		ih.states.Push(e)
	case EventRecords:
		if kept := h.fit(e, third); len(kept.Records) > 0 {
			ih.records.Push(kept)
		}
	case EventTask:
		ih.tasks.Push(h.fitTask(e, third))
	}
}

// fit keeps of a records batch larger than budget its newest records that
// fit, counting the others dropped: a ring keeps its newest item whatever
// its size, and one 4 MiB frame must not be what an instance's history is.
// Only the records kept are measured; the dropped are charged the rest of
// the frame's estimate, so a flood costs no walk of every record.
func (h *history) fit(e Event, budget int64) Event {
	total := e.Size()
	if total <= budget {
		return e
	}
	room := budget - int64(sizeEvent+len(e.Plugin)+len(e.Instance))
	i := len(e.Records)
	for ; i > 0; i-- {
		n := RecordSize(&e.Records[i-1])
		if n > room {
			break
		}
		room -= n
	}
	// A copy: the tail would hold the whole batch's array.
	e.Records, e.size = slices.Clone(e.Records[i:]), 0
	e.size = e.measure()
	h.dropped.Add(uint64(i))
	h.droppedBytes.Add(uint64(max(total-e.size, 0)))
	return e
}

// fitTask keeps of a task's reply only its final record when the whole
// would pass budget, and says so in the reply's own drop counts.
func (h *history) fitTask(e Event, budget int64) Event {
	t := e.Task
	if e.Size() <= budget || len(t.Reply.Records) <= 1 {
		return e
	}
	cp := *t
	n := len(cp.Reply.Records) - 1
	cut := RecordsSize(cp.Reply.Records[:n])
	cp.Reply.Records = []protocol.Record{cp.Reply.Records[n]}
	cp.Reply.Dropped += n
	cp.Reply.DroppedBytes += cut
	h.dropped.Add(uint64(n))
	h.droppedBytes.Add(uint64(cut))
	e.Task, e.size = &cp, 0
	e.size = e.measure()
	return e
}

// query returns the kept events q selects, oldest first. known says whether
// a name is a configured plugin or instance, for one with no history yet.
func (h *history) query(q HistoryQuery, known func(string) bool) ([]Event, error) {
	want := func(t EventType) bool { return len(q.Types) == 0 || slices.Contains(q.Types, t) }
	var out []Event
	found := q.Plugin == ""
	h.instances.Range(func(k, v any) bool {
		id, ih := k.(string), v.(*instHistory)
		if q.Plugin != "" && q.Plugin != id && q.Plugin != ih.plugin {
			return true
		}
		found = true
		ih.mu.Lock()
		defer ih.mu.Unlock()
		for _, r := range []struct {
			t EventType
			r *ring.Ring[Event]
		}{{EventState, ih.states}, {EventTask, ih.tasks}, {EventRecords, ih.records}} {
			if want(r.t) {
				out = append(out, r.r.Last(r.r.Len())...)
			}
		}
		return true
	})
	if !found && !known(q.Plugin) {
		return nil, fmt.Errorf("%q: %w", q.Plugin, ErrUnknownPlugin)
	}
	if want(EventSupervisorLog) {
		h.logMu.Lock()
		for i := range h.logs.Len() {
			if e := h.logs.At(i); q.Plugin == "" || e.Plugin == q.Plugin || e.Instance == q.Plugin {
				out = append(out, e)
			}
		}
		h.logMu.Unlock()
	}
	slices.SortStableFunc(out, func(a, b Event) int { return cmp.Compare(a.Time.UnixNano(), b.Time.UnixNano()) })
	if q.N > 0 && len(out) > q.N {
		out = out[len(out)-q.N:]
	}
	return out, nil
}

// HistoryTypes are the event types History keeps, which a query may name.
func HistoryTypes() []EventType {
	return []EventType{EventState, EventTask, EventRecords, EventSupervisorLog}
}

// Check refuses a query History cannot answer as asked, naming the entry
// at fault: every face (in process or through the control socket) gets
// the same error for the same query.
func (q HistoryQuery) Check() error {
	if q.N < 0 {
		return fmt.Errorf("history: n %d is negative", q.N)
	}
	kinds := HistoryTypes()
	if len(q.Types) > len(kinds) {
		return fmt.Errorf("history: more than %d types", len(kinds))
	}
	for i, t := range q.Types {
		if !slices.Contains(kinds, t) {
			return fmt.Errorf("history: types[%d]: unknown event type %q", i, t)
		}
		if slices.Contains(q.Types[:i], t) {
			return fmt.Errorf("history: types[%d]: duplicate event type %q", i, t)
		}
	}
	return nil
}

// History returns the kept events q selects, oldest first.
func (s *Supervisor) History(ctx context.Context, q HistoryQuery) ([]Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := q.Check(); err != nil {
		return nil, err
	}
	return s.history.query(q, func(name string) bool {
		_, err := s.resolve(name)
		return err == nil
	})
}
