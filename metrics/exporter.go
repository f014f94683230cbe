package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

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
	log    *slog.Logger
	tasks  *taskDurations
	engine *engineCollector
	fleet  *fleetCollector // nil without Options.Fleet
	// scrapes holds a token for each scrape under way.
	scrapes chan struct{}
}

// New makes the collectors and subscribes to the API's events until ctx
// ends.
func New(ctx context.Context, o Options) (*Exporter, error) {
	if o.API == nil {
		return nil, errors.New("metrics: Options.API is nil")
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tasks := newTaskDurations()
	e := &Exporter{log: log, tasks: tasks, scrapes: make(chan struct{}, MaxScrapesInFlight)}
	e.engine = newEngineCollector(ctx, o.API, tasks, log)
	if o.Fleet != nil {
		e.fleet = newFleetCollector(o.Fleet)
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

// textContentType is the Prometheus text exposition format's.
const textContentType = "text/plain; version=0.0.4; charset=utf-8"

// Handler serves the metrics in the Prometheus text format. A collector
// that fails (a Snapshot timed out) costs its own metrics, not the scrape:
// the rest is served, and the failure logged. Beyond MaxScrapesInFlight
// scrapes at once, a scrape is answered 503 at once.
func (e *Exporter) Handler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		select {
		case e.scrapes <- struct{}{}:
			defer func() { <-e.scrapes }()
		default:
			http.Error(rw, "too many scrapes at once", http.StatusServiceUnavailable)
			return
		}
		body := e.gather()
		rw.Header().Set("Content-Type", textContentType)
		rw.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if _, err := rw.Write(body); err != nil {
			e.log.Debug("metrics: writing a scrape", "err", err)
		}
	})
}

// gather writes every family of one scrape.
func (e *Exporter) gather() []byte {
	var w textWriter
	e.engine.write(&w)
	writeRuntime(&w)
	if e.fleet != nil {
		e.fleet.write(&w)
	}
	return w.b
}
