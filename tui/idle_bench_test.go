package tui

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
	"github.com/plugvisor/plugvisor/tui/screen"
)

// Idle cost. BenchmarkIdle runs three test processes side by side, each
// with its own engine running the demo's plugins, started together and
// measured over the same window (PV_IDLE_WINDOW, default 20s):
//
//   - engine: the engine alone, no console;
//   - bare: the engine and a Bubble Tea program that draws one fixed line
//     and does nothing else, on Bubble Tea's own renderer at FPS: the
//     floor a Bubble Tea console pays if it keeps that renderer (its
//     ticker wakes at FPS whatever happens);
//   - console: the engine and the console, painted as Run paints it
//     (package screen: only frames that change, at most FPS a second,
//     and Bubble Tea's ticker at 1 fps).
//
// console-cpu-% is the console process's CPU less the engine process's,
// bare-bubbletea-cpu-% the bare one's less the engine's, and ratio-to-bare
// says how far the console is above the floor. The three run at once, so
// what the machine does meanwhile falls on all of them alike, and so, but
// for a crash more or less, does the chaos plugin's crash cycle (each has
// its own chaos, started within a second of the others): measured one
// after the other in one process, the engine's own cost moved with the
// number of crashes in each window and swamped the console's. The window
// opens a second after the console starts, so its first 9 s are those of
// an attended console and the rest unattended (cadence.go): the console as
// an operator leaves it.
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

// runIdle runs model like startProgram does (no input, output discarded),
// on Bubble Tea's renderer or (painted) as Run paints the console, and
// returns the process CPU used over window.
func runIdle(b *testing.B, model tea.Model, window time.Duration, painted bool) time.Duration {
	opts := []tea.ProgramOption{tea.WithInput(nil), tea.WithOutput(io.Discard), tea.WithWindowSize(benchW, benchH),
		tea.WithoutSignals(), tea.WithFPS(FPS)}
	if painted {
		term, err := screen.Open(nil, io.Discard, os.Environ(), FPS)
		if err != nil {
			b.Fatal(err)
		}
		defer term.Close()
		model = term.Wrap(model)
		opts = append(opts, term.ProgramOptions()...)
	}
	p := tea.NewProgram(model, opts...)
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

// idleRoleEnv makes this test binary one of BenchmarkIdle's measured
// processes: engine, bare or console.
const idleRoleEnv = "PV_IDLE_ROLE"

var idleRoles = []string{"engine", "bare", "console"}

// BenchmarkIdle: see above. The console must stay under 1% of a core.
func BenchmarkIdle(b *testing.B) {
	if role := os.Getenv(idleRoleEnv); role != "" {
		idleChild(b, role)
		return
	}
	win := idleWindow(b)
	results := runIdleRoles(b, win)
	pct := func(d time.Duration) float64 { return 100 * d.Seconds() / win.Seconds() }
	engine := results["engine"].cpu
	bareCPU, console := results["bare"].cpu-engine, results["console"].cpu-engine
	b.ReportMetric(pct(bareCPU), "bare-bubbletea-cpu-%")
	b.ReportMetric(pct(engine), "engine-cpu-%")
	b.ReportMetric(pct(console), "console-cpu-%")
	if bareCPU > 0 {
		b.ReportMetric(float64(console)/float64(bareCPU), "ratio-to-bare")
	}
	b.ReportMetric(float64(results["console"].frames)/win.Seconds(), "frames/s")
	b.ReportMetric(float64(results["console"].changed)/win.Seconds(), "changed-frames/s")
}

// idleResult is what one measured process reports.
type idleResult struct {
	cpu             time.Duration
	frames, changed int
}

// runIdleRoles starts one process per role, lets each bring its engine up,
// starts their windows together and collects their reports.
func runIdleRoles(b *testing.B, win time.Duration) map[string]idleResult {
	type child struct {
		cmd    *exec.Cmd
		report *bufio.Reader
		goPipe io.WriteCloser
	}
	kids := map[string]*child{}
	for _, role := range idleRoles {
		r, w, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run", "^$", "-test.bench", "^BenchmarkIdle$", "-test.benchtime", "1x")
		cmd.Env = append(os.Environ(), idleRoleEnv+"="+role, "PV_IDLE_WINDOW="+win.String())
		cmd.ExtraFiles = []*os.File{w}
		cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		w.Close()
		b.Cleanup(func() { endIdleChild(cmd) })
		kids[role] = &child{cmd: cmd, report: bufio.NewReader(r), goPipe: in}
	}
	// A deadline only against a hung child; it says nothing about speed.
	line := func(role string) string {
		got := make(chan string, 1)
		go func() { s, _ := kids[role].report.ReadString('\n'); got <- strings.TrimSpace(s) }()
		select {
		case s := <-got:
			return s
		case <-time.After(3*time.Minute + 2*win):
			b.Fatalf("idle %s process: no report", role)
			return ""
		}
	}
	for _, role := range idleRoles {
		if s := line(role); s != "ready" {
			b.Fatalf("idle %s process: %q instead of ready", role, s)
		}
	}
	for _, role := range idleRoles {
		if _, err := io.WriteString(kids[role].goPipe, "go\n"); err != nil {
			b.Fatal(err)
		}
	}
	out := map[string]idleResult{}
	for _, role := range idleRoles {
		var ns int64
		var res idleResult
		s := line(role)
		if _, err := fmt.Sscanf(s, "cpu=%d frames=%d changed=%d", &ns, &res.frames, &res.changed); err != nil {
			b.Fatalf("idle %s process: report %q: %v", role, s, err)
		}
		res.cpu = time.Duration(ns)
		out[role] = res
	}
	return out
}

// endIdleChild lets a measured process stop its engine and remove what it
// made, and kills it only if it has not ended in a minute (a hung child).
func endIdleChild(cmd *exec.Cmd) {
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		<-done
	}
}

// idleChild is one measured process: it brings the demo's plugins up,
// says so on descriptor 3, waits for its parent's go on stdin, measures
// its role over the window and reports on descriptor 3.
func idleChild(b *testing.B, role string) {
	win := idleWindow(b)
	report := os.NewFile(3, "report")
	r := demoRig(b)
	r.waitState("ticker", supervisor.StateRunning)
	r.waitState("echo", supervisor.StateRunning)
	fmt.Fprintln(report, "ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		b.Fatalf("waiting for go: %v", err)
	}
	var res idleResult
	prev := ""
	switch role {
	case "engine":
		time.Sleep(time.Second) // as runIdle settles
		c0 := cpu()
		time.Sleep(win)
		res.cpu = cpu() - c0
	case "bare":
		res.cpu = runIdle(b, bare{}, win, false)
	case "console":
		m := newModel(r.sup, Options{Theme: "dark", onFrame: func(s string) {
			res.frames++
			if s != prev {
				res.changed++
				prev = s
			}
		}})
		defer m.close()
		res.cpu = runIdle(b, m, win, true)
	default:
		b.Fatalf("%s=%q: not one of %v", idleRoleEnv, role, idleRoles)
	}
	fmt.Fprintf(report, "cpu=%d frames=%d changed=%d\n", res.cpu.Nanoseconds(), res.frames, res.changed)
}
