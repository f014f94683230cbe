package metrics

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/plugvisor/plugvisor/internal/ratelimit"
	"github.com/plugvisor/plugvisor/supervisor"
)

// engineCollector reads the engine at each scrape: exact values, and no
// goroutine polling an engine nobody scrapes.
type engineCollector struct {
	ctx   context.Context
	api   supervisor.API
	tasks *taskDurations
	log   *slog.Logger
	warn  *ratelimit.Limiter // a scrape loop against a stuck engine costs a line a minute

	instance      []instanceMetric
	state         family
	tasksByEnd    family
	supervisor    []supervisorMetric
	scrapeErrors  family
	scrapeFailed  atomic.Uint64
	eventsDropped family
}

func newEngineCollector(ctx context.Context, api supervisor.API, tasks *taskDurations, log *slog.Logger) *engineCollector {
	return &engineCollector{
		ctx: ctx, api: api, tasks: tasks, log: log, warn: ratelimit.New(1, time.Minute),
		instance: instanceMetrics(),
		state: family{"plugvisor_plugin_state",
			"1 for the instance's current lifecycle state, 0 for the others.", kindGauge},
		tasksByEnd: family{"plugvisor_plugin_tasks_total",
			"Tasks of the instance that ended, by outcome: answered, failed (an error reply) or timed_out.", kindCounter},
		supervisor: supervisorMetrics(),
		scrapeErrors: family{"plugvisor_scrape_errors_total",
			"Scrapes whose reading of the engine (Info or Snapshot) failed or timed out; their engine metrics are missing.", kindCounter},
		eventsDropped: family{"plugvisor_metrics_events_dropped_total",
			"Events the exporter's own subscription lost while behind: plugvisor_task_duration_seconds misses their tasks.", kindCounter},
	}
}

// write reads the engine and writes its families; a call that fails costs
// its own series, not the scrape.
func (c *engineCollector) write(w *textWriter) {
	ctx, cancel := context.WithTimeout(c.ctx, ScrapeTimeout)
	defer cancel()
	if info, err := c.api.Info(ctx); err != nil {
		c.failed("info", err)
	} else {
		c.writeSupervisor(w, &info)
	}
	if snap, err := c.api.Snapshot(ctx); err != nil {
		c.failed("snapshot", err)
	} else {
		c.writeInstances(w, snap)
		c.tasks.prune(snap)
	}
	c.tasks.write(w)
	w.family(c.scrapeErrors.name, c.scrapeErrors.help, c.scrapeErrors.kind)
	w.sample(c.scrapeErrors.name, float64(c.scrapeFailed.Load()))
	w.family(c.eventsDropped.name, c.eventsDropped.help, c.eventsDropped.kind)
	w.sample(c.eventsDropped.name, float64(c.tasks.dropped.Load()))
}

func (c *engineCollector) failed(call string, err error) {
	n := c.scrapeFailed.Add(1)
	if ok, held := c.warn.Allow(time.Now()); ok {
		c.log.Warn("metrics: cannot read the engine for a scrape; its metrics are left out", "call", call, "err", err,
			"failed_scrapes_total", n, "not_logged", held)
	}
}

// writeInstances writes the per-instance families, each family's series
// together as the text format wants them.
func (c *engineCollector) writeInstances(w *textWriter, snap []supervisor.PluginStatus) {
	now := time.Now()
	for _, m := range c.instance {
		f := familyOnce{w: w, f: &m.family}
		for i := range snap {
			st := &snap[i]
			if v, ok := m.value(st, now); ok {
				f.sample(v, "plugin", st.Name, "instance", st.Instance)
			}
		}
	}
	state := familyOnce{w: w, f: &c.state}
	for i := range snap {
		st := &snap[i]
		for _, s := range states() {
			state.sample(bool01(st.State == s), "plugin", st.Name, "instance", st.Instance, "state", string(s))
		}
	}
	ended := familyOnce{w: w, f: &c.tasksByEnd}
	for i := range snap {
		st := &snap[i]
		ended.sample(float64(st.TasksAnswered), "plugin", st.Name, "instance", st.Instance, "outcome", "answered")
		ended.sample(float64(st.TasksFailed), "plugin", st.Name, "instance", st.Instance, "outcome", "failed")
		ended.sample(float64(st.TasksTimedOut), "plugin", st.Name, "instance", st.Instance, "outcome", "timed_out")
	}
}

func (c *engineCollector) writeSupervisor(w *textWriter, info *supervisor.Info) {
	for _, m := range c.supervisor {
		if v, ok := m.value(info); ok {
			w.family(m.name, m.help, m.kind)
			w.sample(m.name, v)
		}
	}
}
