package metrics_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/plugvisor/plugvisor/metrics"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// supervisorFamilies are the supervisor's own, from Info.
var supervisorFamilies = []string{
	"plugvisor_events_dropped_total", "plugvisor_event_bytes_dropped_total", "plugvisor_refused_connections_total",
	"plugvisor_shed_connections_total", "plugvisor_history_dropped_total", "plugvisor_history_bytes_dropped_total",
	"plugvisor_watchdog_restarts_total", "plugvisor_start_time_seconds",
}

// TestSupervisorMetrics: the supervisor's own series come from Info, the
// Go runtime's and the process's are there, and without Options.Fleet no
// fleet series is.
func TestSupervisorMetrics(t *testing.T) {
	r := startRig(t, plugin(t, "echo", false, ""), supervisortest.Options{}, metrics.Options{}, nil)
	f := r.scrape()
	for _, name := range append(supervisorFamilies, "go_goroutines", "go_memstats_heap_alloc_bytes",
		"process_resident_memory_bytes", "process_start_time_seconds", "plugvisor_scrape_errors_total",
		"plugvisor_metrics_events_dropped_total") {
		if f[name] == nil {
			t.Errorf("no family %s", name)
		}
	}
	info := supervisortest.InfoOf(t, r.env.Sup)
	if got, _ := f.value("plugvisor_start_time_seconds", nil); got != float64(info.Started.UnixNano())/1e9 {
		t.Errorf("start time %v, want %v (Info.Started %v)", got, float64(info.Started.UnixNano())/1e9, info.Started)
	}
	if n, _ := f.value("plugvisor_scrape_errors_total", nil); n != 0 {
		t.Errorf("scrape errors %v against a healthy engine", n)
	}
	for name := range f {
		if strings.HasPrefix(name, "plugvisor_fleet_") {
			t.Errorf("fleet family %s without Options.Fleet", name)
		}
	}
}

// TestFleetMetrics: with Options.Fleet, each scrape has its figures.
func TestFleetMetrics(t *testing.T) {
	var published atomic.Uint64
	published.Store(10)
	fleet := func() metrics.FleetStats {
		return metrics.FleetStats{Connected: true, SpoolRecords: 3, SpoolBytes: 300, Published: published.Load(),
			Acked: 9, Retried: 2, Dropped: 1, DroppedBytes: 100, EventsPublished: 7, EventsDropped: 4}
	}
	r := startRig(t, plugin(t, "echo", false, ""), supervisortest.Options{}, metrics.Options{Fleet: fleet}, nil)
	want := map[string]float64{
		"plugvisor_fleet_connected": 1, "plugvisor_fleet_spool_records": 3, "plugvisor_fleet_spool_bytes": 300,
		"plugvisor_fleet_records_published_total": 10, "plugvisor_fleet_records_acked_total": 9,
		"plugvisor_fleet_records_retried_total": 2, "plugvisor_fleet_records_dropped_total": 1,
		"plugvisor_fleet_record_bytes_dropped_total": 100, "plugvisor_fleet_events_published_total": 7,
		"plugvisor_fleet_events_dropped_total": 4,
	}
	f := r.scrape()
	for name, v := range want {
		if got, ok := f.value(name, nil); !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, v)
		}
	}
	published.Store(11)
	if got, _ := r.scrape().value("plugvisor_fleet_records_published_total", nil); got != 11 {
		t.Errorf("published after a change: %v, want 11: a scrape must read the link anew", got)
	}
}

// stuck is an engine whose Snapshot never answers: only the caller's
// context ends the wait.
type stuck struct {
	supervisor.API
	calls atomic.Int64
}

func (s *stuck) Snapshot(ctx context.Context) ([]supervisor.PluginStatus, error) {
	s.calls.Add(1)
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestStuckEngine: a Snapshot that never answers costs the scrape its
// instance series after ScrapeTimeout, not the scrape: the rest is served
// and the failure counted.
func TestStuckEngine(t *testing.T) {
	var s *stuck
	r := startRig(t, plugin(t, "echo", true, ""), supervisortest.Options{}, metrics.Options{},
		func(api supervisor.API) supervisor.API { s = &stuck{API: api}; return s })
	f := r.scrape()
	if s.calls.Load() != 1 {
		t.Fatalf("%d Snapshot calls for one scrape", s.calls.Load())
	}
	if n, _ := f.value("plugvisor_scrape_errors_total", nil); n != 1 {
		t.Errorf("scrape errors %v, want 1", n)
	}
	if f["plugvisor_plugin_up"] != nil {
		t.Error("instance series without a Snapshot")
	}
	if _, ok := f.value("plugvisor_start_time_seconds", nil); !ok || f["go_goroutines"] == nil {
		t.Error("the supervisor's and the runtime's series are missing when only Snapshot failed")
	}
}
