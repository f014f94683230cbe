package metrics

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plugvisor/plugvisor/supervisor"
)

// taskDurations is the round trip histogram, fed by the engine's task
// events: no Snapshot holds every round trip, only their percentiles.
type taskDurations struct {
	vec     *prometheus.HistogramVec
	dropped atomic.Uint64 // events our subscription lost

	mu      sync.Mutex
	plugins map[string]struct{} // with series in vec
}

func newTaskDurations() *taskDurations {
	return &taskDurations{
		vec: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "plugvisor_task_duration_seconds",
			Help: "Round trip of ended tasks, send to final reply, by plugin and outcome; tasks never sent are not observed.",
			// 10 µs to 10 s, three buckets a decade.
			Buckets: prometheus.ExponentialBucketsRange(10e-6, 10, 19),
		}, []string{"plugin", "outcome"}),
		plugins: make(map[string]struct{}),
	}
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
	t.mu.Lock()
	t.plugins[ev.Plugin] = struct{}{}
	t.mu.Unlock()
	t.vec.WithLabelValues(ev.Plugin, outcomeLabel(task.Outcome)).Observe(max(task.Reply.RTT, 0).Seconds())
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
	for p := range t.plugins {
		if _, ok := live[p]; !ok {
			t.vec.DeletePartialMatch(prometheus.Labels{"plugin": p})
			delete(t.plugins, p)
		}
	}
}
