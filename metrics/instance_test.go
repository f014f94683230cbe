package metrics_test

import (
	"math"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/metrics"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// instanceFamilies are the per-instance families every instance has.
var instanceFamilies = []string{
	"plugvisor_plugin_up", "plugvisor_plugin_state", "plugvisor_plugin_restarts_total",
	"plugvisor_plugin_records_total", "plugvisor_plugin_frames_received_total", "plugvisor_plugin_bytes_received_total",
	"plugvisor_plugin_frames_sent_total", "plugvisor_plugin_bytes_sent_total",
	"plugvisor_plugin_tasks_total", "plugvisor_plugin_tasks_sent_total", "plugvisor_plugin_cpu_ratio",
	"plugvisor_plugin_resident_memory_bytes", "plugvisor_plugin_in_flight_tasks", "plugvisor_plugin_oom_kills_total",
	"plugvisor_plugin_pids_limit_hits_total", "plugvisor_plugin_log_writes_dropped_total",
	"plugvisor_plugin_reply_records_dropped_total",
}

// TestInstanceMetrics: every instance of the configuration has its series,
// labelled by plugin and instance, with the engine's values; ticker's
// records count grows from scrape to scrape.
func TestInstanceMetrics(t *testing.T) {
	plugins := plugin(t, "echo", true, "") + plugin(t, "ticker", true, "args = [\"--interval\", \"20ms\"]\ninstances = 2")
	r := startRig(t, plugins, supervisortest.Options{}, metrics.Options{}, nil)
	ids := map[string]string{"echo": "echo", "ticker.0": "ticker", "ticker.1": "ticker"}
	for id := range ids {
		r.env.WaitState(id, supervisor.StateRunning)
	}
	// Heartbeats and a sampling of memory come after running; wait for both.
	f := r.scrapeUntil("a heartbeat and a memory sample of every instance", func(f families) bool {
		for id, name := range ids {
			rss, _ := f.value("plugvisor_plugin_resident_memory_bytes", of(name, id))
			if _, ok := f.value("plugvisor_plugin_heartbeat_age_seconds", of(name, id)); !ok || rss <= 0 {
				return false
			}
		}
		return true
	})
	for _, name := range append(instanceFamilies, "plugvisor_plugin_heartbeat_age_seconds", "plugvisor_plugin_heartbeat_rtt_seconds") {
		if f[name] == nil {
			t.Errorf("no family %s", name)
		}
	}
	for id, name := range ids {
		for _, fam := range instanceFamilies {
			if fam == "plugvisor_plugin_state" || fam == "plugvisor_plugin_tasks_total" {
				continue
			}
			if _, ok := f.value(fam, of(name, id)); !ok {
				t.Errorf("%s has no %s series", id, fam)
			}
		}
		if up, _ := f.value("plugvisor_plugin_up", of(name, id)); up != 1 {
			t.Errorf("%s: up %v, want 1", id, up)
		}
		checkState(t, f, name, id, supervisor.StateRunning)
		for _, outcome := range []string{"answered", "failed", "timed_out"} {
			if n, ok := f.value("plugvisor_plugin_tasks_total", of(name, id, "outcome", outcome)); !ok || n != 0 {
				t.Errorf("%s: tasks_total{outcome=%s} = %v (present %v), want 0", id, outcome, n, ok)
			}
		}
		age, _ := f.value("plugvisor_plugin_heartbeat_age_seconds", of(name, id))
		cpu, _ := f.value("plugvisor_plugin_cpu_ratio", of(name, id))
		if age < 0 || math.IsNaN(age) || cpu < 0 || math.IsNaN(cpu) {
			t.Errorf("%s: heartbeat age %v, cpu ratio %v; want both ≥ 0", id, age, cpu)
		}
	}
	if got := len(f["plugvisor_plugin_up"].GetMetric()); got != len(ids) {
		t.Errorf("%d up series, want one an instance (%d)", got, len(ids))
	}
	for _, id := range []string{"ticker.0", "ticker.1"} {
		first, _ := f.value("plugvisor_plugin_records_total", of("ticker", id))
		r.scrapeUntil(id+"'s records_total growing", func(f families) bool {
			n, _ := f.value("plugvisor_plugin_records_total", of("ticker", id))
			return n > first
		})
	}
}

// checkState: one state series a known state, 1 for want and 0 for others.
func checkState(t *testing.T, f families, name, id string, want supervisor.State) {
	t.Helper()
	series := 0
	for _, m := range f["plugvisor_plugin_state"].GetMetric() {
		var plugin, inst, state string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "plugin":
				plugin = l.GetValue()
			case "instance":
				inst = l.GetValue()
			case "state":
				state = l.GetValue()
			}
		}
		if plugin != name || inst != id {
			continue
		}
		series++
		if v := m.GetGauge().GetValue(); v != bool01(state == string(want)) {
			t.Errorf("%s: state{state=%s} = %v while %s", id, state, v, want)
		}
	}
	if series != 7 {
		t.Errorf("%s: %d state series, want one for each of the 7 states", id, series)
	}
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// TestStoppedPluginIsDown: a stopped instance keeps its series, up 0 and
// its state stopped, and has no heartbeat age.
func TestStoppedPluginIsDown(t *testing.T) {
	r := startRig(t, echoAndTicker(t), supervisortest.Options{}, metrics.Options{}, nil)
	r.env.WaitState("echo", supervisor.StateRunning)
	r.env.WaitState("ticker", supervisor.StateRunning)
	r.scrapeUntil("echo and ticker up", func(f families) bool {
		echo, _ := f.value("plugvisor_plugin_up", of("echo", "echo"))
		ticker, _ := f.value("plugvisor_plugin_up", of("ticker", "ticker"))
		return echo == 1 && ticker == 1
	})
	if err := r.env.Sup.Stop(t.Context(), "echo"); err != nil {
		t.Fatal(err)
	}
	f := r.scrapeUntil("echo stopped", func(f families) bool {
		stopped, _ := f.value("plugvisor_plugin_state", of("echo", "echo", "state", "stopped"))
		return stopped == 1
	})
	if up, ok := f.value("plugvisor_plugin_up", of("echo", "echo")); !ok || up != 0 {
		t.Errorf("stopped echo: up %v (present %v), want 0", up, ok)
	}
	checkState(t, f, "echo", "echo", supervisor.StateStopped)
	if _, ok := f.value("plugvisor_plugin_heartbeat_age_seconds", of("echo", "echo")); ok {
		t.Error("stopped echo has a heartbeat age")
	}
	if up, _ := f.value("plugvisor_plugin_up", of("ticker", "ticker")); up != 1 {
		t.Errorf("ticker: up %v, want 1 while echo is stopped", up)
	}
}

// TestRootAndMethods: / points to /metrics, any other path is not found,
// and /metrics takes GET only.
func TestRootAndMethods(t *testing.T) {
	r := startRig(t, plugin(t, "echo", false, ""), supervisortest.Options{}, metrics.Options{}, nil)
	if code, body := r.get("/"); code != 200 || !strings.Contains(body, "/metrics") || strings.Count(body, "\n") != 1 {
		t.Errorf("GET /: %d %q, want 200 and one line naming /metrics", code, body)
	}
	if code, _ := r.get("/other"); code != 404 {
		t.Errorf("GET /other: %d, want 404", code)
	}
	resp, err := httpPost(r.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if resp != 405 {
		t.Errorf("POST /metrics: %d, want 405", resp)
	}
}
