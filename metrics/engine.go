package metrics

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
	state         *prometheus.Desc
	tasksByEnd    *prometheus.Desc
	supervisor    []supervisorMetric
	scrapeErrors  *prometheus.Desc
	scrapeFailed  atomic.Uint64
	eventsDropped *prometheus.Desc
}

func newEngineCollector(ctx context.Context, api supervisor.API, tasks *taskDurations, log *slog.Logger) *engineCollector {
	return &engineCollector{
		ctx: ctx, api: api, tasks: tasks, log: log, warn: ratelimit.New(1, time.Minute),
		instance: instanceMetrics(),
		state: prometheus.NewDesc("plugvisor_plugin_state",
			"1 for the instance's current lifecycle state, 0 for the others.", append(instanceLabels(), "state"), nil),
		tasksByEnd: prometheus.NewDesc("plugvisor_plugin_tasks_total",
			"Tasks of the instance that ended, by outcome: answered, failed (an error reply) or timed_out.",
			append(instanceLabels(), "outcome"), nil),
		supervisor: supervisorMetrics(),
		scrapeErrors: prometheus.NewDesc("plugvisor_scrape_errors_total",
			"Scrapes whose reading of the engine (Info or Snapshot) failed or timed out; their engine metrics are missing.", nil, nil),
		eventsDropped: prometheus.NewDesc("plugvisor_metrics_events_dropped_total",
			"Events the exporter's own subscription lost while behind: plugvisor_task_duration_seconds misses their tasks.", nil, nil),
	}
}

func (c *engineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.instance {
		ch <- m.desc
	}
	for _, m := range c.supervisor {
		ch <- m.desc
	}
	ch <- c.state
	ch <- c.tasksByEnd
	ch <- c.scrapeErrors
	ch <- c.eventsDropped
	c.tasks.vec.Describe(ch)
}

func (c *engineCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(c.ctx, ScrapeTimeout)
	defer cancel()
	if info, err := c.api.Info(ctx); err != nil {
		c.failed("info", err)
	} else {
		c.collectSupervisor(ch, &info)
	}
	if snap, err := c.api.Snapshot(ctx); err != nil {
		c.failed("snapshot", err)
	} else {
		c.collectInstances(ch, snap)
		c.tasks.prune(snap)
	}
	c.tasks.vec.Collect(ch)
	ch <- prometheus.MustNewConstMetric(c.scrapeErrors, prometheus.CounterValue, float64(c.scrapeFailed.Load()))
	ch <- prometheus.MustNewConstMetric(c.eventsDropped, prometheus.CounterValue, float64(c.tasks.dropped.Load()))
}

func (c *engineCollector) failed(call string, err error) {
	n := c.scrapeFailed.Add(1)
	if ok, held := c.warn.Allow(time.Now()); ok {
		c.log.Warn("metrics: cannot read the engine for a scrape; its metrics are left out", "call", call, "err", err,
			"failed_scrapes_total", n, "not_logged", held)
	}
}

func (c *engineCollector) collectInstances(ch chan<- prometheus.Metric, snap []supervisor.PluginStatus) {
	now := time.Now()
	for i := range snap {
		st := &snap[i]
		for _, m := range c.instance {
			if v, ok := m.value(st, now); ok {
				ch <- prometheus.MustNewConstMetric(m.desc, m.kind, v, st.Name, st.Instance)
			}
		}
		for _, s := range states() {
			ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, bool01(st.State == s), st.Name, st.Instance, string(s))
		}
		for outcome, n := range map[string]uint64{"answered": st.TasksAnswered, "failed": st.TasksFailed, "timed_out": st.TasksTimedOut} {
			ch <- prometheus.MustNewConstMetric(c.tasksByEnd, prometheus.CounterValue, float64(n), st.Name, st.Instance, outcome)
		}
	}
}

func (c *engineCollector) collectSupervisor(ch chan<- prometheus.Metric, info *supervisor.Info) {
	for _, m := range c.supervisor {
		if v, ok := m.value(info); ok {
			ch <- prometheus.MustNewConstMetric(m.desc, m.kind, v)
		}
	}
}
