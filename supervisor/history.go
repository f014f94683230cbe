package supervisor

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugvisor/plugvisor/internal/clip"
	"github.com/plugvisor/plugvisor/internal/ratelimit"
	"github.com/plugvisor/plugvisor/internal/ring"
)

// Bounds of what History keeps. Every ring is bounded in bytes (by the
// estimates of size.go) and in count; what passes a bound is dropped oldest
// first and counted in Info.HistoryDropped: one a record for records (of a
// records event), one an event for the other kinds.
const (
	// DefaultHistoryMemory is what one instance's history may hold: a
	// quarter each for its state changes, its tasks, its records and the
	// supervisor's log lines about it.
	DefaultHistoryMemory = 96 << 10
	// supervisorLogMemory is what the supervisor's engine-wide log (lines
	// about no instance) may hold.
	supervisorLogMemory = 256 << 10
	// supervisorLogRate bounds the engine-wide lines kept a second: a
	// flood of them (refusals of a hostile peer) keeps the lines before it.
	supervisorLogRate = 100
	// maxHistoryInstances bounds how many instances History holds at once,
	// whatever ids events name.
	maxHistoryInstances = 4096

	historyStates  = 1000
	historyTasks   = 500
	historyBatches = 1000
	historyLogs    = 2000
)

type notInHistory struct{}

// NotInHistory marks a context whose log records History does not keep:
// those that repeat what is in it already, such as a plugin's output
// forwarded to the log, which History has as EventLog.
func NotInHistory(ctx context.Context) context.Context {
	return context.WithValue(ctx, notInHistory{}, true)
}

func keptInHistory(ctx context.Context) bool { return ctx == nil || ctx.Value(notInHistory{}) == nil }

// history is the engine's memory of what happened, for faces that were not
// watching (a console attached later, a restarted console). It is a
// subscriber of the bus, but one the bus calls as it publishes rather than
// one with a queue: a queue sheds under a flood of records, and a flood is
// when the state changes beside it matter most. So keep must be cheap: one
// lock-free map lookup and an instance's own lock.
type history struct {
	perInstance int64 // bytes of one instance's history, all kinds together

	instances sync.Map     // instance id → *instHistory
	count     atomic.Int64 // entries of instances
	logMu     sync.Mutex
	logs      *ring.Ring[Event] // lines about no instance the history holds
	logRate   *ratelimit.Limiter

	dropped, droppedBytes atomic.Uint64
}

// instHistory is one instance's kept events, behind its own lock so that
// instances publishing at once do not wait for each other.
type instHistory struct {
	plugin string

	mu                           sync.Mutex
	states, tasks, records, logs *ring.Ring[Event]
}

func newHistory(perInstance int64) *history {
	if perInstance <= 0 {
		perInstance = DefaultHistoryMemory
	}
	h := &history{perInstance: perInstance, logRate: ratelimit.New(supervisorLogRate, time.Second)}
	h.logs = h.newRing(historyLogs, supervisorLogMemory)
	return h
}

// newRing makes a ring whose evictions are counted as History's drops.
func (h *history) newRing(n int, budget int64) *ring.Ring[Event] {
	return ring.New(n, ring.WithBudget(budget, historySize), ring.WithEvict(h.drop))
}

// drop counts e let go of: its records one each, another event as one.
func (h *history) drop(e Event) {
	h.dropped.Add(uint64(max(len(e.Records), 1)))
	h.droppedBytes.Add(uint64(historySize(e)))
}

// historySize charges an event what the engine measured it at when it was
// published (the frame's bytes, for records) or measures it.
func historySize(e Event) int64 { return e.Size() }

// share is the bytes of one kind of an instance's history.
func (h *history) share() int64 { return h.perInstance / 4 }

// instance is id's history, made for it when create is set and the bound
// on instances allows; nil otherwise.
func (h *history) instance(plugin, id string, create bool) *instHistory {
	if v, ok := h.instances.Load(id); ok {
		return v.(*instHistory)
	}
	if !create || h.count.Add(1) > maxHistoryInstances {
		if create {
			h.count.Add(-1)
		}
		return nil
	}
	b := h.share()
	ih := &instHistory{
		plugin: plugin,
		states: h.newRing(historyStates, b), tasks: h.newRing(historyTasks, b),
		records: h.newRing(historyBatches, b), logs: h.newRing(historyLogs, b),
	}
	v, loaded := h.instances.LoadOrStore(id, ih)
	if loaded {
		h.count.Add(-1)
	}
	return v.(*instHistory)
}

// forget lets go of id's history: a reload removed the instance, and its
// id may never come back.
func (h *history) forget(id string) {
	if _, ok := h.instances.LoadAndDelete(id); ok {
		h.count.Add(-1)
	}
}

// keep takes in an event as it is published; e's time and size are set.
func (h *history) keep(e Event) {
	switch e.Type {
	case EventSupervisorLog:
		h.keepLog(e)
		return
	case EventState, EventRecords:
	case EventTask:
		if e.Task == nil || !e.Task.Outcome.Final() {
			return // the final event says all the pending one did
		}
	default:
		return
	}
	ih := h.instance(e.Plugin, e.Instance, true)
	if ih == nil {
		h.drop(e)
		return
	}
	budget := h.share()
	ih.mu.Lock()
	defer ih.mu.Unlock()
	switch e.Type {
	case EventState:
		ih.states.Push(e)
	case EventRecords:
		if kept := h.fit(e, budget); len(kept.Records) > 0 {
			ih.records.Push(kept)
		}
	case EventTask:
		ih.tasks.Push(h.fitTask(e, budget))
	}
}

// keepLog keeps a line about an instance History holds in that instance's
// share, where only lines about it can flush it; other lines go to the
// engine-wide ring at a bounded rate.
func (h *history) keepLog(e Event) {
	if e.Instance != "" {
		if ih := h.instance(e.Plugin, e.Instance, false); ih != nil {
			ih.mu.Lock()
			ih.logs.Push(e)
			ih.mu.Unlock()
			return
		}
	}
	if ok, _ := h.logRate.Allow(e.Time); !ok {
		h.drop(e)
		return
	}
	h.logMu.Lock()
	h.logs.Push(e)
	h.logMu.Unlock()
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

// fitTask keeps a task event that would pass budget with only its reply's
// final record; when that is still too much, without it, and then with
// only what of its content fits, clipped with a mark. What the reply loses
// is in its own drop counts, not History's: its progress records were
// records events too, counted there if History let them go.
func (h *history) fitTask(e Event, budget int64) Event {
	if e.Size() <= budget {
		return e
	}
	cp := *e.Task
	e.Task = &cp
	recs := cp.Reply.Records
	for _, keep := range []int{1, 0} {
		if n := len(cp.Reply.Records) - keep; n > 0 {
			cp.Reply.Dropped += n
			cp.Reply.DroppedBytes += RecordsSize(cp.Reply.Records[:n])
			cp.Reply.Records = recs[len(recs)-keep:]
		}
		if e.measure() <= budget {
			break
		}
	}
	if over := e.measure() - budget; over > 0 {
		const mark = 32 // clip.Text's "…(+N bytes)"
		cp.Content = clip.Text(cp.Content, max(len(cp.Content)-int(over)-mark, 0))
	}
	cp.Reply.Records = slices.Clone(cp.Reply.Records) // not the whole reply's array
	e.size = 0
	e.size = e.measure()
	return e
}

// query returns the kept events q selects, oldest first, in the order they
// were published. known says whether a name is a configured plugin or
// instance, for one with no history yet. Of each ring it copies only the
// newest q.N, so a small query of a large history holds no instance's lock
// for long.
func (h *history) query(q HistoryQuery, known func(string) bool) ([]Event, error) {
	want := func(t EventType) bool { return len(q.Types) == 0 || slices.Contains(q.Types, t) }
	take := func(r *ring.Ring[Event]) []Event {
		if q.N > 0 {
			return r.Last(q.N)
		}
		return r.Last(r.Len())
	}
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
		}{{EventState, ih.states}, {EventTask, ih.tasks}, {EventRecords, ih.records}, {EventSupervisorLog, ih.logs}} {
			if want(r.t) {
				out = append(out, take(r.r)...)
			}
		}
		return true
	})
	if !found && !known(q.Plugin) {
		return nil, fmt.Errorf("%q: %w", q.Plugin, ErrUnknownPlugin)
	}
	if want(EventSupervisorLog) {
		out = append(out, h.engineLogs(q)...)
	}
	slices.SortFunc(out, func(a, b Event) int { return cmp.Compare(a.seq, b.seq) })
	if q.N > 0 && len(out) > q.N {
		out = out[len(out)-q.N:]
	}
	return out, nil
}

// engineLogs is the newest q.N (all, for 0) engine-wide lines q selects.
func (h *history) engineLogs(q HistoryQuery) []Event {
	h.logMu.Lock()
	defer h.logMu.Unlock()
	var out []Event
	for i := h.logs.Len() - 1; i >= 0 && (q.N == 0 || len(out) < q.N); i-- {
		if e := h.logs.Ptr(i); q.Plugin == "" || e.Plugin == q.Plugin || e.Instance == q.Plugin {
			out = append(out, *e)
		}
	}
	slices.Reverse(out)
	return out
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
