package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/plugvisor/plugvisor/supervisor"
)

// Bounds on what a scrape and the subscription may cost.
const (
	// ScrapeTimeout bounds the Info and Snapshot of one scrape, so a stuck
	// engine fails scrapes instead of piling them up.
	ScrapeTimeout = 2 * time.Second
	// MaxScrapesInFlight is how many scrapes may run at once; beyond it a
	// scrape is answered 503 at once.
	MaxScrapesInFlight = 4
	// EventBuffer is the subscription's buffer, in events. The engine drops
	// beyond it while the exporter is behind, and counts what it dropped.
	EventBuffer = 1024
)

// Options say what the exporter reads.
type Options struct {
	API supervisor.API
	Log *slog.Logger // nil: discard
	// Fleet reports the fleet link's state at scrape time; nil: no fleet
	// link metrics. It is called once a scrape and must not block.
	Fleet func() FleetStats
}

// FleetStats is the fleet link's state; counters are cumulative.
type FleetStats struct {
	Connected                bool
	SpoolRecords, SpoolBytes int64
	// Records of the data stream.
	Published, Acked, Retried, Dropped, DroppedBytes uint64
	// Lifecycle events sent on, and lost.
	EventsPublished, EventsDropped uint64
}

// Exporter gathers an engine's metrics for scrapes.
type Exporter struct {
	registry *prometheus.Registry
	log      *slog.Logger
	tasks    *taskDurations
	engine   *engineCollector
}

// New registers the collectors in a private registry and subscribes to the
// API's events until ctx ends.
func New(ctx context.Context, o Options) (*Exporter, error) {
	if o.API == nil {
		return nil, errors.New("metrics: Options.API is nil")
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tasks := newTaskDurations()
	e := &Exporter{registry: prometheus.NewRegistry(), log: log, tasks: tasks}
	e.engine = newEngineCollector(ctx, o.API, tasks, log)
	cs := []prometheus.Collector{
		e.engine,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}
	if o.Fleet != nil {
		cs = append(cs, newFleetCollector(o.Fleet))
	}
	for _, c := range cs {
		if err := e.registry.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: registering a collector: %w", err)
		}
	}
	events, cancel, err := o.API.Subscribe(ctx, EventBuffer)
	if err != nil {
		return nil, fmt.Errorf("metrics: subscribing to the engine's events: %w", err)
	}
	go func() {
		defer cancel()
		tasks.consume(events)
	}()
	return e, nil
}

// Handler serves the registry in the Prometheus exposition formats. A
// collector that fails (a Snapshot timed out) costs its own metrics, not
// the scrape: the rest is served, and the failure logged.
func (e *Exporter) Handler() http.Handler {
	return promhttp.HandlerFor(e.registry, promhttp.HandlerOpts{
		ErrorLog:            newErrorLog(e.log),
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: MaxScrapesInFlight,
	})
}
