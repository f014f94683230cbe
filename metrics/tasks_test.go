package metrics_test

import (
	"path/filepath"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/plugvisor/plugvisor/metrics"
	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

func histogram(f families, plugin, outcome string) *dto.Histogram {
	return f.series("plugvisor_task_duration_seconds", map[string]string{"plugin": plugin, "outcome": outcome}).GetHistogram()
}

// TestTaskHistogram: a task answered by echo is one observation of its
// round trip, outcome answered, and counted in the instance's counters.
func TestTaskHistogram(t *testing.T) {
	r := startRig(t, echoAndTicker(t), supervisortest.Options{}, metrics.Options{}, nil)
	r.env.WaitState("echo", supervisor.StateRunning)
	reply, err := r.env.Sup.SendTask(t.Context(), supervisor.TaskRequest{Plugin: "echo", ID: 1, Content: "hello"})
	if err != nil || reply.Outcome != supervisor.OutcomeAnswered {
		t.Fatalf("task to echo: %v, outcome %s", err, reply.Outcome)
	}
	f := r.scrapeUntil("the task's round trip in the histogram", func(f families) bool {
		return histogram(f, "echo", "answered").GetSampleCount() > 0
	})
	h := histogram(f, "echo", "answered")
	if h.GetSampleCount() != 1 || h.GetSampleSum() != reply.RTT.Seconds() {
		t.Errorf("histogram: count %d sum %v, want 1 and the reply's RTT %v", h.GetSampleCount(), h.GetSampleSum(), reply.RTT.Seconds())
	}
	if len(h.GetBucket()) < 10 || h.GetBucket()[0].GetUpperBound() > 20e-6 || h.GetBucket()[len(h.GetBucket())-1].GetUpperBound() < 10 {
		t.Errorf("buckets %v do not span 10µs..10s", h.GetBucket())
	}
	if got := len(f["plugvisor_task_duration_seconds"].GetMetric()); got != 1 {
		t.Errorf("%d histogram series after one task, want 1", got)
	}
	if n, _ := f.value("plugvisor_plugin_tasks_total", of("echo", "echo", "outcome", "answered")); n != 1 {
		t.Errorf("tasks_total{answered} %v, want 1", n)
	}
	if n, _ := f.value("plugvisor_plugin_tasks_sent_total", of("echo", "echo")); n != 1 {
		t.Errorf("tasks_sent_total %v, want 1", n)
	}
}

// TestReloadRemovesSeries: a plugin a reload removes leaves no series
// behind, its round trips' histogram included, so the series stay bounded
// by the configuration.
func TestReloadRemovesSeries(t *testing.T) {
	var dir string
	reloaded := func() (*registry.Config, error) {
		toml := supervisortest.AgentTOML(dir, nil) + plugin(t, "ticker", true, `args = ["--interval", "20ms"]`)
		return registry.Parse(filepath.Join(dir, "config.toml"), []byte(toml))
	}
	r := startRig(t, echoAndTicker(t), supervisortest.Options{Supervisor: func(o *supervisor.Options) { o.Reload = reloaded }},
		metrics.Options{}, nil)
	dir = r.env.Dir
	r.env.WaitState("echo", supervisor.StateRunning)
	if _, err := r.env.Sup.SendTask(t.Context(), supervisor.TaskRequest{Plugin: "echo", ID: 1, Content: "x"}); err != nil {
		t.Fatal(err)
	}
	r.scrapeUntil("echo's histogram", func(f families) bool { return histogram(f, "echo", "answered") != nil })
	if err := r.env.Sup.Reload(t.Context()); err != nil {
		t.Fatalf("reload: %v", err)
	}
	f := r.scrapeUntil("echo gone", func(f families) bool {
		_, ok := f.value("plugvisor_plugin_up", of("echo", "echo"))
		return !ok
	})
	if histogram(f, "echo", "answered") != nil {
		t.Error("echo's histogram outlived its removal")
	}
	for name, mf := range f {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "plugin" && l.GetValue() == "echo" {
					t.Errorf("%s still has a series of echo", name)
				}
			}
		}
	}
	if up, _ := f.value("plugvisor_plugin_up", of("ticker", "ticker")); up != 1 {
		t.Errorf("ticker up %v after the reload, want 1", up)
	}
}
