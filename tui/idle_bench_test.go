package tui

import (
	"io"
	"os"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// Idle cost. BenchmarkIdle measures, in one run and over the same window
// (PV_IDLE_WINDOW, default 20s):
//
//   - engine: the engine running the demo's plugins, no console;
//   - bare: a Bubble Tea program that draws one fixed line and does
//     nothing else, on the same program options as the console: the floor
//     any Bubble Tea console pays (its renderer ticks at FPS);
//   - console: the engine and the console; console-cpu-% is this minus
//     engine, and ratio-to-bare says how far the console is above the floor.
//
// Run it with
//
//	go test -run '^$' -bench Idle -benchtime 1x ./tui/
//
// The demo's plugins are those of the embedded demo: ticker (a record and
// a log line a second), two echo instances, chaos crashing every 5 s (and
// saying so), a heartbeat every second for each.

// demoRig runs the demo's plugins at the demo's pace: a heartbeat a
// second, chaos crashing every 5 s.
func demoRig(b *testing.B) *rig {
	plugins := pluginTOML(b, "chaos", true, `args = ["--crash-after", "5s", "--log"]`+"\nrestart = \"on-failure\"") +
		pluginTOML(b, "echo", true, "instances = 2") +
		pluginTOML(b, "ticker", true, `args = ["--log"]`+"\nrestart = \"always\"")
	e := supervisortest.Start(b, plugins, supervisortest.Options{Agent: map[string]string{
		"host": `"testhost"`, "heartbeat_interval": `"1s"`, "heartbeat_timeout": `"3s"`, "restart_burst": "10",
	}, Supervisor: func(o *supervisor.Options) {
		// The demo's restart pacing, not the fast one of tests.
		o.BackoffBase, o.BackoffMax, o.HealthyAfter = time.Second, registry.DemoBackoffMax, registry.DemoHealthyAfter
	}})
	return &rig{t: b, sup: e.Sup, dir: e.Dir, cancel: e.Cancel, done: e.Done(), stop: e.Stop}
}

// bare is the smallest Bubble Tea model: one line, no commands.
type bare struct{}

func (bare) Init() tea.Cmd                       { return nil }
func (bare) Update(tea.Msg) (tea.Model, tea.Cmd) { return bare{}, nil }
func (bare) View() tea.View {
	v := tea.NewView("idle")
	v.AltScreen = true
	return v
}

// runIdle runs model like startProgram does (no input, output discarded)
// and returns the process CPU used over window.
func runIdle(model tea.Model, window time.Duration) time.Duration {
	p := tea.NewProgram(model, tea.WithInput(nil), tea.WithOutput(io.Discard), tea.WithWindowSize(benchW, benchH),
		tea.WithoutSignals(), tea.WithFPS(FPS))
	finished := make(chan struct{})
	go func() {
		_, _ = p.Run()
		close(finished)
	}()
	time.Sleep(time.Second) // settle: the first snapshot, backfills
	c0 := cpu()
	time.Sleep(window)
	used := cpu() - c0
	p.Quit()
	<-finished
	return used
}

func idleWindow(b *testing.B) time.Duration {
	if s := os.Getenv("PV_IDLE_WINDOW"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			b.Fatalf("PV_IDLE_WINDOW: %v", err)
		}
		return d
	}
	return 20 * time.Second
}

// BenchmarkIdle: see above. The console must stay under 1% of a core.
func BenchmarkIdle(b *testing.B) {
	win := idleWindow(b)
	pct := func(d time.Duration) float64 { return 100 * d.Seconds() / win.Seconds() }
	r := demoRig(b)
	r.waitState("ticker", supervisor.StateRunning)
	r.waitState("echo", supervisor.StateRunning)

	// Every figure is of the whole process, the engine included: the
	// engine's own share is measured alone and taken off.
	// The engine's own share varies with chaos's crash cycle: it is
	// measured before and after, and the mean taken.
	alone := func() time.Duration {
		c0 := cpu()
		time.Sleep(win)
		return cpu() - c0
	}
	before := alone()
	bareTotal := runIdle(bare{}, win)
	frames := 0
	m := newModel(r.sup, Options{Theme: "dark", onFrame: func(string) { frames++ }})
	defer m.close()
	consoleTotal := runIdle(m, win)
	engine := (before + alone()) / 2
	bareCPU, console := bareTotal-engine, consoleTotal-engine

	b.ReportMetric(pct(bareCPU), "bare-bubbletea-cpu-%")
	b.ReportMetric(pct(engine), "engine-cpu-%")
	b.ReportMetric(pct(console), "console-cpu-%")
	if bareCPU > 0 {
		b.ReportMetric(float64(console)/float64(bareCPU), "ratio-to-bare")
	}
	b.ReportMetric(float64(frames)/win.Seconds(), "frames/s")
}
