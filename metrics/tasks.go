package metrics

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/plugvisor/plugvisor/supervisor"
)

// taskDurations is the round trip histogram, fed by the engine's task
// events: no Snapshot holds every round trip, only their percentiles.
type taskDurations struct {
	bounds  []float64     // the buckets' upper bounds, rising; +Inf is implied
	dropped atomic.Uint64 // events our subscription lost

	mu     sync.Mutex
	series map[taskKey]*histogram
}

// taskKey is one series: a configured plugin and one of a few outcomes,
// so the series stay bounded by the configuration.
type taskKey struct{ plugin, outcome string }

// histogram is one series' observations: counts per bucket (not yet
// cumulative; the last is above every bound), their sum and number.
type histogram struct {
	counts []uint64
	sum    float64
	count  uint64
}

const (
	taskDurationName = "plugvisor_task_duration_seconds"
	taskDurationHelp = "Round trip of ended tasks, send to final reply, by plugin and outcome; tasks never sent are not observed."
)

func newTaskDurations() *taskDurations {
	// 10 µs to 10 s, three buckets a decade.
	return &taskDurations{bounds: exponentialBounds(10e-6, 10, 19), series: make(map[taskKey]*histogram)}
}

// exponentialBounds is n bounds from lo to hi, each the last times the same
// factor.
func exponentialBounds(lo, hi float64, n int) []float64 {
	factor := math.Pow(hi/lo, 1/float64(n-1))
	b := make([]float64, n)
	for i := range b {
		b[i] = lo * math.Pow(factor, float64(i))
	}
	return b
}

// consume observes every final task event until events closes.
func (t *taskDurations) consume(events <-chan supervisor.Event) {
	for ev := range events {
		switch ev.Type {
		case supervisor.EventTask:
			t.observe(&ev)
		case supervisor.EventDropped:
			t.dropped.Add(ev.Dropped)
		}
	}
}

func (t *taskDurations) observe(ev *supervisor.Event) {
	task := ev.Task
	if task == nil || !task.Outcome.Final() || task.Outcome == supervisor.OutcomeNotSent || ev.Plugin == "" {
		return
	}
	v := max(task.Reply.RTT, 0).Seconds()
	k := taskKey{ev.Plugin, outcomeLabel(task.Outcome)}
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.series[k]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(t.bounds)+1)}
		t.series[k] = h
	}
	i, _ := slices.BinarySearch(t.bounds, v) // the first bound at or above v
	h.counts[i]++
	h.sum += v
	h.count++
}

// outcomeLabel keeps the label to the outcomes this build knows: a remote
// engine's event is decoded from the wire, and an outcome label must not
// take whatever text arrives.
func outcomeLabel(o supervisor.Outcome) string {
	switch o {
	case supervisor.OutcomeAnswered, supervisor.OutcomeError, supervisor.OutcomeTimedOut,
		supervisor.OutcomeGone, supervisor.OutcomeCancelled:
		return string(o)
	}
	return "other"
}

// prune drops the series of plugins no longer configured, so a reload that
// removes a plugin removes its histograms too.
func (t *taskDurations) prune(snap []supervisor.PluginStatus) {
	live := make(map[string]struct{}, len(snap))
	for i := range snap {
		live[snap[i].Name] = struct{}{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.series {
		if _, ok := live[k.plugin]; !ok {
			delete(t.series, k)
		}
	}
}

// write writes the histogram family, its series in label order.
func (t *taskDurations) write(w *textWriter) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.series) == 0 {
		return
	}
	keys := make([]taskKey, 0, len(t.series))
	for k := range t.series {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b taskKey) int {
		return cmp.Or(cmp.Compare(a.plugin, b.plugin), cmp.Compare(a.outcome, b.outcome))
	})
	w.family(taskDurationName, taskDurationHelp, kindHistogram)
	var le []byte
	for _, k := range keys {
		h := t.series[k]
		var cum uint64
		for i, bound := range t.bounds {
			cum += h.counts[i]
			le = appendFloat(le[:0], bound)
			w.sample(taskDurationName+"_bucket", float64(cum), "plugin", k.plugin, "outcome", k.outcome, "le", string(le))
		}
		w.sample(taskDurationName+"_bucket", float64(h.count), "plugin", k.plugin, "outcome", k.outcome, "le", "+Inf")
		w.sample(taskDurationName+"_sum", h.sum, "plugin", k.plugin, "outcome", k.outcome)
		w.sample(taskDurationName+"_count", float64(h.count), "plugin", k.plugin, "outcome", k.outcome)
	}
}
