package tui

import (
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
	"github.com/plugvisor/plugvisor/tui/render"
)

// The plugins table: filter, sort, natural order, marks and bulk actions,
// health colours, and the rows it keeps after resizes and reloads.

// tableRows are the instance ids in the table's rows, top to bottom, as
// the screen shows them.
func tableRows(screen string) []string {
	var out []string
	in := false
	for _, l := range strings.Split(screen, "\n") {
		switch {
		case strings.Contains(l, "╭─ Plugins"):
			in = true
			continue
		case in && strings.HasPrefix(l, "╰"):
			return out
		case !in || strings.Contains(l, "NAME"):
			continue
		}
		f := strings.Fields(strings.TrimLeft(l, "│ ✓"))
		if len(f) > 1 {
			out = append(out, f[0])
		}
	}
	return out
}

// tableTitle is the table's title line.
func tableTitle(screen string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, "╭─ Plugins") {
			return l
		}
	}
	return ""
}

func rowsAre(want ...string) func(string) bool {
	return func(s string) bool { return strings.Join(tableRows(s), " ") == strings.Join(want, " ") }
}

func selected(name string) func(string) bool {
	return func(s string) bool { return strings.Contains(titleOf(s), "─ "+name+" ") }
}

// TestTableKeepsRowsAfterResize: rows scrolled out of a small pane come
// back when the pane grows again, instead of staying scrolled out above
// the top.
func TestTableKeepsRowsAfterResize(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitScreen("three rows", rowsAre("chaos", "echo", "ticker"))
	c.tm.Send(tea.WindowSizeMsg{Width: 60, Height: 15}) // two rows fit
	c.waitScreen("two rows", func(s string) bool { return len(tableRows(s)) == 2 })
	c.press("j", "j", "j")
	c.waitScreen("ticker selected", selected("ticker"))
	c.tm.Send(tea.WindowSizeMsg{Width: 120, Height: 40})
	c.waitScreen("all three rows again", rowsAre("chaos", "echo", "ticker"))
}

// manyThenFew runs echo with 12 instances, chaos and ticker, and on reload
// echo with one.
func manyThenFew(t *testing.T) *rig {
	t.Helper()
	var next atomic.Pointer[registry.Config]
	plugins := func(n int) string {
		return pluginTOML(t, "chaos", false, "") + pluginTOML(t, "echo", false, "instances = "+itoa(n)) + pluginTOML(t, "ticker", false, "")
	}
	agent := map[string]string{"host": `"testhost"`}
	e := supervisortest.Start(t, plugins(12), supervisortest.Options{Agent: agent, Supervisor: func(o *supervisor.Options) {
		o.Reload = func() (*registry.Config, error) { return next.Load(), nil }
	}})
	next.Store(supervisortest.Config(t, e.Dir, plugins(1), agent))
	return &rig{t: t, sup: e.Sup, dir: e.Dir, cancel: e.Cancel, done: e.Done(), stop: e.Stop}
}

func itoa(n int) string { return render.Count(uint64(n)) }

// TestTableNaturalOrder: echo.2 comes before echo.10.
func TestTableNaturalOrder(t *testing.T) {
	r := manyThenFew(t)
	c := newConsole(t, r.sup, Options{}, 120, 50)
	want := []string{"chaos"}
	for i := range 12 {
		want = append(want, "echo."+itoa(i))
	}
	c.waitScreen("instances in natural order", rowsAre(append(want, "ticker")...))
}

// TestTableKeepsRowsAfterReload: the table scrolled to its end, the reload
// leaves three plugins of fourteen, and all three are shown; the marks of
// instances that went away go with them.
func TestTableKeepsRowsAfterReload(t *testing.T) {
	r := manyThenFew(t)
	c := newConsole(t, r.sup, Options{}, 120, 24) // five rows fit
	c.waitScreen("fourteen plugins", func(s string) bool { return strings.Contains(tableTitle(s), "Plugins 14") })
	c.press("G", "k", "space") // echo.11 marked
	c.waitScreen("a mark", func(s string) bool { return strings.Contains(tableTitle(s), "1 marked") })
	c.press("R")
	c.waitFor("configuration reloaded")
	c.waitScreen("the three rows left", rowsAre("chaos", "echo", "ticker"))
	if s := c.screen(); strings.Contains(tableTitle(s), "marked") {
		t.Fatalf("the mark of an instance gone is kept:\n%s", s)
	}
}

func TestTableFilter(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitScreen("three rows", rowsAre("chaos", "echo", "ticker"))
	c.press("j") // echo
	c.press("/")
	c.waitFor("plugins /")
	c.typeText("ECO") // fuzzy, any case
	s := c.waitScreen("echo alone", rowsAre("echo"))
	if !strings.Contains(tableTitle(s), "/ECO 1/3") {
		t.Fatalf("title does not show the filter and shown/total: %q", tableTitle(s))
	}
	if !selected("echo")(s) {
		t.Fatalf("the selection left echo:\n%s", s)
	}
	c.press("backspace", "backspace", "backspace")
	c.typeText("!echo") // inverted
	c.waitScreen("all but echo", rowsAre("chaos", "ticker"))
	c.press("enter") // keeps the filter, closes the input
	s = c.waitScreen("input closed", func(s string) bool { return !strings.Contains(s, "plugins /") })
	if !strings.Contains(tableTitle(s), "/!echo 2/3") {
		t.Fatalf("filter not kept: %q", tableTitle(s))
	}
	c.press("esc") // the table focused: clears the filter
	c.waitScreen("filter cleared", rowsAre("chaos", "echo", "ticker"))

	// By state: only the running one.
	c.press("G", "s")
	r.waitState("ticker", supervisor.StateRunning)
	c.press("/")
	c.typeText("runn")
	c.press("enter")
	c.waitScreen("ticker alone", rowsAre("ticker"))
	// The movement keys and the mouse work on the rows shown.
	c.press("g")
	c.waitScreen("ticker still selected", selected("ticker"))
	c.press("esc")
	c.waitScreen("filter cleared", rowsAre("chaos", "echo", "ticker"))

	// With the detail pane focused, / is the detail pane's: on Logs, its search.
	c.press("tab", "/")
	c.waitScreen("the logs search", func(s string) bool {
		return !strings.Contains(s, "plugins /") && strings.Contains(s, "=filter · !hide")
	})
}

func TestTableSort(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitScreen("three rows", rowsAre("chaos", "echo", "ticker"))
	c.press("j", "s")
	r.waitState("echo", supervisor.StateRunning)
	c.waitScreen("echo running", func(s string) bool { return strings.Contains(rowOf(s, "echo"), "● running") })
	c.press("o") // STATE: running before stopped, ties in natural order
	s := c.waitScreen("by state", rowsAre("echo", "chaos", "ticker"))
	if !strings.Contains(s, "STATE▲") || strings.Contains(s, "NAME▲") {
		t.Fatalf("header does not mark the sorted column:\n%s", s)
	}
	c.press("O")
	s = c.waitScreen("by state, reversed", rowsAre("chaos", "ticker", "echo"))
	if !strings.Contains(s, "STATE▼") {
		t.Fatalf("header does not show the direction:\n%s", s)
	}
	if !selected("echo")(s) {
		t.Fatalf("the selection left echo:\n%s", s)
	}
	c.press(":")
	c.typeText("sort name desc")
	c.press("enter")
	s = c.waitScreen("by name, descending", rowsAre("ticker", "echo", "chaos"))
	if !strings.Contains(s, "NAME▼") {
		t.Fatalf("header:\n%s", s)
	}
	// The mouse picks the row drawn where it clicks.
	y := -1
	for i, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, "│ "), "ticker ") {
			y = i
		}
	}
	c.tm.Send(tea.MouseClickMsg{Button: tea.MouseLeft, X: 6, Y: y})
	c.waitScreen("ticker selected", selected("ticker"))
	c.press("G")
	c.waitScreen("chaos, the last row, selected", selected("chaos"))
	c.press(":")
	c.typeText("sort bogus")
	c.press("enter")
	c.waitFor(`sort: no column "bogus"`)
}

// TestLifecycleKeysSayWhenThereIsNothingToDo: s on a running plugin and x
// on a stopped one do nothing and say why.
func TestLifecycleKeysSayWhenThereIsNothingToDo(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitScreen("three rows", rowsAre("chaos", "echo", "ticker"))
	c.press("x")
	s := c.waitFor("chaos is not running")
	if strings.Contains(s, "Stop chaos?") {
		t.Fatalf("asks to stop a stopped plugin:\n%s", s)
	}
	c.press("j", "s")
	c.waitFor("echo started in")
	r.waitState("echo", supervisor.StateRunning)
	c.waitScreen("echo running", func(s string) bool { return strings.Contains(rowOf(s, "echo"), "● running") })
	c.press("s")
	s = c.waitFor("echo is already running")
	if strings.Contains(s, "echo started in") {
		t.Fatalf("a start of a running plugin reported as done:\n%s", s)
	}
}

func TestMarksAndBulkActions(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitScreen("three rows", rowsAre("chaos", "echo", "ticker"))
	c.press("space", "G", "space")
	s := c.waitScreen("two marked", func(s string) bool { return strings.Contains(tableTitle(s), "2 marked") })
	for _, name := range []string{"chaos", "ticker"} {
		if !regexp.MustCompile(`│ ✓ ` + name + ` `).MatchString(s) {
			t.Fatalf("%s not drawn marked:\n%s", name, s)
		}
	}
	c.press("s")
	c.waitFor("Start 2 instances: chaos, ticker?")
	c.press("y")
	c.waitFor("started 2 instances in")
	r.waitState("chaos", supervisor.StateRunning)
	r.waitState("ticker", supervisor.StateRunning)
	// x below decides what is needless from the console's own state: wait
	// for the screen, not only the engine, to show both running.
	c.waitScreen("both running", func(s string) bool {
		return regexp.MustCompile(`✓ chaos +● running`).MatchString(s) && regexp.MustCompile(`✓ ticker +● running`).MatchString(s)
	})
	for _, st := range supervisortest.SnapshotOf(t, r.sup) {
		if st.Name == "echo" && st.State != supervisor.StateStopped {
			t.Fatalf("echo, not marked, was started: %s", st.State)
		}
	}

	// Marks survive the filter; ctrl+a marks every row shown.
	c.press("/")
	c.typeText("echo")
	c.press("enter")
	c.waitScreen("echo alone", rowsAre("echo"))
	c.press("ctrl+a")
	c.waitScreen("three marked", func(s string) bool { return strings.Contains(tableTitle(s), "3 marked") })
	c.press("esc") // the filter first
	c.waitScreen("filter cleared, marks kept", func(s string) bool {
		return strings.Join(tableRows(s), " ") == "chaos echo ticker" && strings.Contains(tableTitle(s), "3 marked")
	})
	c.press("x")
	c.waitFor("Stop 3 instances: chaos, echo, ticker?")
	c.press("y")
	c.waitFor("stopped 2 instances in", "echo: not running")
	r.waitState("chaos", supervisor.StateStopped)
	r.waitState("ticker", supervisor.StateStopped)
	c.press("esc") // then the marks
	c.waitScreen("marks cleared", func(s string) bool { return !strings.Contains(tableTitle(s), "marked") })
}

// TestMarkActsOnTheInstance: marking echo.2 alone and stopping stops that
// instance, not every instance of echo.
func TestMarkActsOnTheInstance(t *testing.T) {
	r := startRigWith(t, func(tb testing.TB) string { return pluginTOML(tb, "echo", true, "instances = 3") })
	r.waitState("echo", supervisor.StateRunning) // every instance
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitScreen("three running", func(s string) bool {
		return strings.Contains(rowOf(s, "echo.0"), "● running") && strings.Contains(rowOf(s, "echo.2"), "● running")
	})
	c.press("G", "space")
	c.waitScreen("one marked", func(s string) bool { return strings.Contains(tableTitle(s), "1 marked") })
	c.press("x")
	c.waitFor("Stop 1 instance: echo.2?")
	c.press("y")
	c.waitFor("stopped 1 instance in")
	waitUntil(t, "echo.2 stopped", func() bool {
		for _, st := range supervisortest.SnapshotOf(t, r.sup) {
			if st.Instance == "echo.2" {
				return st.State == supervisor.StateStopped
			}
		}
		return false
	})
	for _, st := range supervisortest.SnapshotOf(t, r.sup) {
		if st.Instance != "echo.2" && st.State != supervisor.StateRunning {
			t.Fatalf("%s, not marked, is %s", st.Instance, st.State)
		}
	}
}

// TestLateHeartbeatColoured: the HEARTBEAT cell turns to a warning past
// half the heartbeat timeout and to an error past 80%, before the engine
// calls the plugin hung. The console's clock runs ahead of the engine's to
// make the heartbeat late without stopping the plugin.
func TestLateHeartbeatColoured(t *testing.T) {
	e := supervisortest.Start(t, pluginTOML(t, "chaos", false, "")+pluginTOML(t, "echo", true, ""), supervisortest.Options{
		Agent: map[string]string{"host": `"testhost"`, "heartbeat_interval": `"200ms"`, "heartbeat_timeout": `"60s"`}})
	r := &rig{t: t, sup: e.Sup, dir: e.Dir, cancel: e.Cancel, done: e.Done(), stop: e.Stop}
	r.waitState("echo", supervisor.StateRunning)
	var ahead atomic.Int64
	c := newConsole(t, r.sup, Options{now: func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }}, 120, 40)
	beat := regexp.MustCompile(`\S+/\S+`)
	// cellStyle is the style the echo row's heartbeat cell is drawn in.
	cellStyle := func() string {
		var style string
		c.inspect(func(m *Model) {
			for _, raw := range strings.Split(m.View().Content, "\n") {
				row := ansi.Strip(raw)
				cell := beat.FindString(row)
				if !strings.Contains(row, " echo ") || cell == "" {
					continue
				}
				padded := render.FitRight(cell, 12)
				st := m.c.Styles
				switch {
				case strings.Contains(raw, st.Error.Render(padded)):
					style = "error"
				case strings.Contains(raw, st.Warn.Render(padded)):
					style = "warn"
				default:
					style = "plain"
				}
			}
		})
		return style
	}
	for _, step := range []struct {
		ahead time.Duration
		want  string
	}{{0, "plain"}, {35 * time.Second, "warn"}, {50 * time.Second, "error"}, {0, "plain"}} {
		ahead.Store(int64(step.ahead))
		waitUntil(t, "heartbeat drawn "+step.want, func() bool { return cellStyle() == step.want })
	}
}

// TestFreshProcessHasNoHeartbeatYet: after a restart the new process shows
// no heartbeat until it has answered one, not the previous process's.
// Heartbeats are rare here, so only the ping gives the first process one.
func TestFreshProcessHasNoHeartbeatYet(t *testing.T) {
	e := supervisortest.Start(t, pluginTOML(t, "chaos", false, "")+pluginTOML(t, "echo", true, ""), supervisortest.Options{
		Agent: map[string]string{"host": `"testhost"`, "heartbeat_interval": `"10m"`, "heartbeat_timeout": `"20m"`}})
	r := &rig{t: t, sup: e.Sup, dir: e.Dir, cancel: e.Cancel, done: e.Done(), stop: e.Stop}
	r.waitState("echo", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitScreen("echo running", func(s string) bool { return strings.Contains(rowOf(s, "echo"), "● running") })
	c.press("j", "p")
	c.waitFor("echo: pong in")
	withBeat := regexp.MustCompile(`● running\s+(\d+)\s+\S+\s+\d+\s+(\S+)`)
	var pid string
	c.waitScreen("echo's heartbeat", func(s string) bool {
		m := withBeat.FindStringSubmatch(rowOf(s, "echo"))
		if m != nil && strings.Contains(m[2], "/") {
			pid = m[1]
			return true
		}
		return false
	})
	c.press("r")
	c.waitFor("echo restarted in")
	s := c.waitScreen("echo's new process", func(s string) bool {
		m := withBeat.FindStringSubmatch(rowOf(s, "echo"))
		return m != nil && m[1] != pid
	})
	if m := withBeat.FindStringSubmatch(rowOf(s, "echo")); m[2] != "-" {
		t.Fatalf("the new process shows a heartbeat %q it never had:\n%s", m[2], rowOf(s, "echo"))
	}
}

// backoffRig runs echo and a chaos that crashes at once and then waits a
// minute in backoff.
func backoffRig(t *testing.T) *rig {
	t.Helper()
	e := supervisortest.Start(t, pluginTOML(t, "chaos", true, `args = ["--crash-after", "10ms"]`+"\nrestart = \"always\"")+pluginTOML(t, "echo", true, ""),
		supervisortest.Options{Agent: map[string]string{"host": `"testhost"`}, Supervisor: func(o *supervisor.Options) {
			o.BackoffBase, o.BackoffMax = time.Minute, time.Minute
		}})
	r := &rig{t: t, sup: e.Sup, dir: e.Dir, cancel: e.Cancel, done: e.Done(), stop: e.Stop}
	r.waitState("chaos", supervisor.StateBackoff)
	r.waitState("echo", supervisor.StateRunning)
	return r
}

// TestBackoffCountdownAtEveryWidth: an instance in backoff shows when it
// restarts, at 80 and 40 columns too.
func TestBackoffCountdownAtEveryWidth(t *testing.T) {
	r := backoffRig(t)
	countdown := regexp.MustCompile(`◌ backoff (\d+\.\ds|1m00s)`)
	for _, size := range [][2]int{{160, 48}, {80, 24}, {40, 12}} {
		c := newConsole(t, r.sup, Options{}, size[0], size[1])
		c.waitScreen("the countdown", func(s string) bool { return countdown.MatchString(rowOf(s, "chaos")) })
	}
}

// TestQuitDialogTellsBackoffFromRunning: a plugin waiting in backoff is not
// counted as running.
func TestQuitDialogTellsBackoffFromRunning(t *testing.T) {
	r := backoffRig(t)
	c := newConsole(t, r.sup, Options{StopEngine: func() {}, EngineDone: make(chan struct{})}, 120, 40)
	c.waitScreen("chaos in backoff", func(s string) bool { return strings.Contains(rowOf(s, "chaos"), "backoff") })
	c.waitScreen("echo running", func(s string) bool { return strings.Contains(rowOf(s, "echo"), "● running") })
	c.press("q")
	c.waitFor("1 plugin is running, 1 in backoff. Stop them and quit?")
	c.press("n")
}

// TestNamesWithin: a bulk dialog lists the names that fit on its line and
// counts the others.
func TestNamesWithin(t *testing.T) {
	names := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"}
	for _, c := range []struct {
		w    int
		want string
	}{
		{200, "alpha, bravo, charlie, delta, echo, foxtrot, golf, hotel and 2 more"},
		{40, "alpha, bravo, charlie, delta and 6 more"},
		{5, "alpha and 9 more"},
	} {
		if got := namesWithin(names, c.w); got != c.want {
			t.Errorf("within %d: %q, want %q", c.w, got, c.want)
		}
	}
	if got := namesWithin(names[:3], 80); got != "alpha, bravo, charlie" {
		t.Errorf("all fit: %q", got)
	}
}
