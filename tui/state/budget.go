package state

import (
	"cmp"
	"iter"
	"maps"
	"slices"

	"github.com/plugvisor/plugvisor/internal/ring"
	"github.com/plugvisor/plugvisor/supervisor"
)

// Budgets bound in bytes (as the supervisor's size estimates charge them)
// what the store keeps beside the counts above: a plugin's records can be
// 4 MiB each, and the console embedded in the supervisor's process takes
// the supervisor down with it if it runs out of memory.
type Budgets struct {
	Records int64 // per instance
	Logs    int64 // per instance
	Tasks   int64 // per plugin: its round trips, their replies included
	Reply   int64 // per round trip: its final record and the newest progress records

	// Across all instances (plugins, for tasks): a flooding plugin gives up
	// its oldest items before a quiet one does.
	TotalRecords, TotalLogs, TotalTasks int64
}

// DefaultBudgets are chosen so that the store stays near 112 MiB whatever
// 200 plugins send, while a plugin with ordinary records (under 1 KiB)
// keeps all MaxRecords of them and one with 150-byte lines all MaxLogLines
// (under 1 MiB): the byte bounds bind only on large items or on many busy
// plugins. A reply keeps 1 MiB: the engine's own bound per reply is 4 MiB,
// too much to keep for each of 1,000 round trips.
func DefaultBudgets() Budgets {
	return Budgets{
		Records: 8 << 20, Logs: 4 << 20, Tasks: 4 << 20, Reply: 1 << 20,
		TotalRecords: 64 << 20, TotalLogs: 32 << 20, TotalTasks: 16 << 20,
	}
}

// Fixed costs beside an item's strings, erring high as supervisor's do.
const (
	sizeRecordReceived = 24  // Record.Received
	sizeLogLine        = 96  // a LogLine in its ring slot, and its share of the slot's spare room
	sizeTask           = 384 // a Task, its Reply, and its entry in the token index
)

// Size estimates the memory a record holds: what the store is charged for it.
func (r Record) Size() int64 { return sizeRecordReceived + supervisor.RecordSize(&r.Record) }

func logSize(l supervisor.LogLine) int64 {
	return int64(sizeLogLine + len(l.Text) + len(l.Instance))
}

func taskSize(t *Task) int64 {
	n := int64(sizeTask + len(t.Plugin) + len(t.Instance) + len(t.Token) + len(t.Content) + len(t.Detail) + len(t.Reply.Error))
	return n + supervisor.RecordsSize(t.Reply.Records)
}

// cutReply keeps the final record of r and the newest progress records that
// fit with it in budget, and returns how many older ones it let go.
func cutReply(r *supervisor.Reply, budget int64) int {
	recs := r.Records
	if len(recs) < 2 {
		return 0
	}
	room := budget - supervisor.RecordSize(&recs[len(recs)-1])
	first := len(recs) - 1 // the final record is kept whatever its size
	for ; first > 0; first-- {
		sz := supervisor.RecordSize(&recs[first-1])
		if sz > room {
			break
		}
		room -= sz
	}
	if first == 0 {
		return 0
	}
	// A copy: a subslice would keep the whole array, and every cut
	// record's fields with it, reachable.
	r.Records = slices.Clone(recs[first:])
	return first
}

// share trims the rings so that together they hold at most total bytes,
// taking from the largest first: each is cut down to one level, the highest
// at which the sum fits (water-filling), and the rings already under it
// keep everything.
func share[T any](rings iter.Seq[*ring.Ring[T]], total int64) {
	var sum int64
	for r := range rings {
		sum += r.Bytes()
	}
	if sum <= total {
		return
	}
	var sizes []int64
	for r := range rings {
		sizes = append(sizes, r.Bytes())
	}
	level := waterLevel(sizes, sum, total)
	for r := range rings {
		if r.Bytes() > level {
			r.Trim(level)
		}
	}
}

// waterLevel is the largest cap c for which capping every size at c sums
// to at most total; sum is their sum, larger than total.
func waterLevel(sizes []int64, sum, total int64) int64 {
	slices.SortFunc(sizes, func(a, b int64) int { return cmp.Compare(b, a) }) // largest first
	rest := sum
	for k := 1; k <= len(sizes); k++ {
		rest -= sizes[k-1]
		c := (total - rest) / int64(k)
		if k == len(sizes) || c >= sizes[k] {
			return max(c, 0)
		}
	}
	return 0
}

// shed holds the rings of all plugins to the totals.
func (s *Store) shed() {
	share(each(s.plugins, func(p *Plugin) *ring.Ring[Record] { return p.Records }), s.budgets.TotalRecords)
	share(each(s.plugins, func(p *Plugin) *ring.Ring[supervisor.LogLine] { return p.Logs }), s.budgets.TotalLogs)
	share(each(s.tasks, func(ts *tasks) *ring.Ring[*Task] { return ts.ring }), s.budgets.TotalTasks)
}

// each yields f of every value of m.
func each[K comparable, V, T any](m map[K]V, f func(V) T) iter.Seq[T] {
	return func(yield func(T) bool) {
		for v := range maps.Values(m) {
			if !yield(f(v)) {
				return
			}
		}
	}
}

// withDefaults fills the budgets left zero.
func (b Budgets) withDefaults() Budgets {
	d := DefaultBudgets()
	b.Records, b.Logs, b.Tasks, b.Reply = cmp.Or(b.Records, d.Records), cmp.Or(b.Logs, d.Logs), cmp.Or(b.Tasks, d.Tasks), cmp.Or(b.Reply, d.Reply)
	b.TotalRecords, b.TotalLogs, b.TotalTasks = cmp.Or(b.TotalRecords, d.TotalRecords), cmp.Or(b.TotalLogs, d.TotalLogs), cmp.Or(b.TotalTasks, d.TotalTasks)
	return b
}
