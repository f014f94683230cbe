// Package state folds supervisor events into bounded per-plugin buffers, independently of rendering.
package state

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/plugvisor/plugvisor/internal/ring"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// Buffer bounds per plugin instance (tasks: per plugin).
const (
	MaxLogLines   = 5000
	MaxRecords    = 1000
	MaxRoundTrips = 1000
	RateSamples   = 60 // records/s history for the sparkline, one per snapshot
)

// Record is a data record with the time the console received it.
type Record struct {
	Received time.Time
	protocol.Record
}

// Plugin is one instance: its latest status and what it produced.
type Plugin struct {
	Status  supervisor.PluginStatus
	Logs    *ring.Ring[supervisor.LogLine]
	Records *ring.Ring[Record]
	Rates   *ring.Ring[float64]

	backfilled bool // its earlier output was fetched with API.Logs
	stateAt    time.Time

	recordsUpTo time.Time // the newest records event History brought (history.go)
}

func newPlugin(name, instance string, b Budgets) *Plugin {
	return &Plugin{
		Status:  supervisor.PluginStatus{Name: name, Instance: instance, State: supervisor.StateStopped},
		Logs:    ring.New(MaxLogLines, ring.WithBudget(b.Logs, logSize)),
		Records: ring.New(MaxRecords, ring.WithBudget(b.Records, Record.Size)),
		Rates:   ring.New[float64](RateSamples),
	}
}

// pushRecords keeps e's records, charging each the first of sizes when
// given, and returns the sizes left.
func (p *Plugin) pushRecords(e *supervisor.Event, sizes []int64) []int64 {
	if sizes == nil {
		for _, r := range e.Records {
			p.Records.Push(Record{Received: e.Time, Record: r})
		}
		return nil
	}
	for i, r := range e.Records {
		p.Records.PushCharged(Record{Received: e.Time, Record: r}, sizeRecordReceived+sizes[i])
	}
	return sizes[len(e.Records):]
}

// Store is everything the console knows about the engine. It is owned by the
// root model and touched only from Update, so it needs no lock.
type Store struct {
	Info        supervisor.Info
	Dropped     uint64 // events this console lost: the bus's count plus its own queue's
	DroppedHere uint64 // of those, the ones its own queue turned away
	ReplyCut    uint64 // progress records of replies not kept, past Budgets.Reply

	budgets Budgets
	plugins map[string]*Plugin // by instance id
	order   []string           // instance ids by plugin name, then instance
	tasks   map[string]*tasks  // by plugin name
	rows    uint64             // bumped whenever anything a plugin row shows changes
	hist    history            // state changes and the supervisor's log (history.go)
}

// New makes an empty store with the default budgets.
func New() *Store { return NewWith(Budgets{}) }

// NewWith makes an empty store with budgets b; those left zero are the
// defaults.
func NewWith(b Budgets) *Store {
	return &Store{budgets: b.withDefaults(), plugins: map[string]*Plugin{}, tasks: map[string]*tasks{}, hist: newHistory()}
}

// Budgets are the store's byte bounds.
func (s *Store) Budgets() Budgets { return s.budgets }

// Order lists instance ids in display order.
func (s *Store) Order() []string { return s.order }

// Plugin returns an instance by id, or nil.
func (s *Store) Plugin(id string) *Plugin { return s.plugins[id] }

// Len is the number of instances.
func (s *Store) Len() int { return len(s.order) }

// RowsRev changes whenever any plugin row's content may have changed.
func (s *Store) RowsRev() uint64 { return s.rows }

func (s *Store) ensure(name, instance string) *Plugin {
	if instance == "" {
		instance = name
	}
	p := s.plugins[instance]
	if p == nil {
		p = newPlugin(name, instance, s.budgets)
		s.plugins[instance] = p
		s.order = append(s.order, instance)
		s.sortOrder()
	}
	return p
}

func (s *Store) sortOrder() {
	slices.SortStableFunc(s.order, func(a, b string) int {
		pa, pb := s.plugins[a].Status, s.plugins[b].Status
		return cmp.Or(cmp.Compare(pa.Name, pb.Name), Natural(pa.Instance, pb.Instance))
	})
}

// Natural compares instance ids as people count: runs of digits by their
// value, so echo.2 comes before echo.10.
func Natural(a, b string) int {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da == 0 || db == 0 {
			if c := cmp.Compare(a[0], b[0]); c != 0 {
				return c
			}
			a, b = a[1:], b[1:]
			continue
		}
		na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
		if c := cmp.Or(cmp.Compare(len(na), len(nb)), cmp.Compare(na, nb)); c != 0 {
			return c
		}
		a, b = a[da:], b[db:]
	}
	return cmp.Compare(len(a), len(b))
}

// digits is the length of the run of ASCII digits s starts with.
func digits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// Folded says what a batch of events touched that needs a follow-up.
type Folded struct {
	States bool // some instance changed state: a fresh snapshot is worth taking
}

// Apply folds a batch of events, oldest first.
func (s *Store) Apply(events []supervisor.Event) Folded { return s.ApplySized(events, nil) }

// ApplySized is Apply for a caller that measured the records already: sizes
// holds supervisor.RecordSize of each record of the records events, in
// order, or is nil.
func (s *Store) ApplySized(events []supervisor.Event, sizes []int64) Folded {
	var f Folded
	for i := range events {
		e := &events[i]
		switch e.Type {
		case supervisor.EventState:
			p := s.ensure(e.Plugin, e.Instance)
			p.Status.State, p.Status.Reason, p.Status.Since = e.State, e.Reason, e.Time
			p.stateAt = e.Time
			pushMarker(p.Logs, e)
			s.rows++
			f.States = true
			s.hist.keep(e)
		case supervisor.EventSupervisorLog:
			s.hist.keep(e)
		case supervisor.EventLog:
			s.ensure(e.Plugin, e.Instance).Logs.Push(e.Log)
		case supervisor.EventRecords:
			if p := s.ensure(e.Plugin, e.Instance); !p.skipRecords(e) {
				sizes = p.pushRecords(e, sizes)
			} else if sizes != nil {
				sizes = sizes[len(e.Records):]
			}
		case supervisor.EventHeartbeat:
			p := s.ensure(e.Plugin, e.Instance)
			p.Status.LastHeartbeat, p.Status.HeartbeatRTT = e.Time, e.RTT
			s.rows++
		case supervisor.EventTask:
			if e.Task != nil {
				s.foldTask(e.Plugin, e.Instance, e.Task)
			}
		case supervisor.EventDropped:
			s.Dropped += e.Dropped
			s.rows++
		}
	}
	s.shed()
	return f
}

// AddDropped counts events the console's own queue had to discard.
func (s *Store) AddDropped(n uint64) {
	if n > 0 {
		s.Dropped += n
		s.DroppedHere += n
		s.rows++
	}
}

// SetSnapshot replaces every instance's status with a fresh snapshot. A state
// already folded from an event newer than the snapshot is kept, since the
// snapshot was taken before that event was folded in.
func (s *Store) SetSnapshot(sts []supervisor.PluginStatus, info supervisor.Info) {
	s.Info = info
	seen := make(map[string]bool, len(sts))
	for _, st := range sts {
		p := s.ensure(st.Name, st.Instance)
		seen[p.Status.Instance] = true
		prev := p.Status
		p.Status = st
		if p.stateAt.After(st.Since) {
			p.Status.State, p.Status.Reason, p.Status.Since = prev.State, prev.Reason, prev.Since
		}
		if prev.LastHeartbeat.After(st.LastHeartbeat) {
			p.Status.LastHeartbeat, p.Status.HeartbeatRTT = prev.LastHeartbeat, prev.HeartbeatRTT
		}
		p.Rates.Push(st.RecordsPerSec)
	}
	s.order = slices.DeleteFunc(s.order, func(id string) bool {
		if !seen[id] {
			delete(s.plugins, id)
			return true
		}
		return false
	})
	s.rows++
}

// NeedBackfill lists instances whose earlier output has not been fetched,
// and marks them as fetched: the caller fetches and calls Backfill.
func (s *Store) NeedBackfill() []string {
	var out []string
	for _, id := range s.order {
		if p := s.plugins[id]; !p.backfilled {
			p.backfilled = true
			out = append(out, id)
		}
	}
	return out
}

// Backfill puts lines captured before the console subscribed in front of
// those it received since, skipping any it already has.
func (s *Store) Backfill(id string, lines []supervisor.LogLine) {
	p := s.plugins[id]
	if p == nil || len(lines) == 0 {
		return
	}
	have := make([]supervisor.LogLine, p.Logs.Len())
	for i := range have {
		have[i] = p.Logs.At(i)
	}
	if len(have) > 0 {
		first := have[0].Time
		n, _ := slices.BinarySearchFunc(lines, first, func(l supervisor.LogLine, t time.Time) int { return l.Time.Compare(t) })
		lines = lines[:n]
	}
	p.Logs.Reset()
	for _, l := range append(lines, have...) {
		p.Logs.Push(l)
	}
	s.shed()
}

// Totals sums what the header shows.
type Totals struct {
	ByState       map[supervisor.State]int
	RecordsPerSec float64
	InFlight      int
	Running       int // instances with a live process: starting, running or stopping
}

// Totals adds up the instances.
func (s *Store) Totals() Totals {
	t := Totals{ByState: map[supervisor.State]int{}}
	for _, id := range s.order {
		st := s.plugins[id].Status
		t.ByState[st.State]++
		t.RecordsPerSec += st.RecordsPerSec
		t.InFlight += st.InFlight
		if Live(st.State) {
			t.Running++
		}
	}
	return t
}

// Live reports whether an instance in this state has a process to stop.
func Live(st supervisor.State) bool {
	switch st {
	case supervisor.StateStarting, supervisor.StateRunning, supervisor.StateStopping, supervisor.StateBackoff:
		return true
	}
	return false
}
