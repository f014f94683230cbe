package tui

import (
	"image/color"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
	"github.com/plugvisor/plugvisor/tui/state"
)

// The tests below drive the console with keys against a real supervisor
// running the example plugins, and read the screen it draws.

// titleOf is the detail pane's title line (its tab bar and instance).
func titleOf(screen string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, "1 Logs") {
			return l
		}
	}
	return ""
}

func TestSelectRows(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitFor("ticker")
	if !strings.Contains(titleOf(c.screen()), "chaos") {
		t.Fatalf("first row not selected:\n%s", c.screen())
	}
	c.press("j")
	c.waitScreen("echo selected", func(s string) bool { return strings.Contains(titleOf(s), "echo") })
	c.press("G")
	c.waitScreen("ticker selected", func(s string) bool { return strings.Contains(titleOf(s), "ticker") })
	c.press("k")
	c.waitScreen("echo selected", func(s string) bool { return strings.Contains(titleOf(s), "echo") })
	c.press("g")
	c.waitScreen("chaos selected", func(s string) bool { return strings.Contains(titleOf(s), "chaos") })
	c.press("down", "down", "up")
	c.waitScreen("echo selected", func(s string) bool { return strings.Contains(titleOf(s), "echo") })
}

func TestStartStopWithConfirmationRestart(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitFor("ticker")
	c.press("j", "s") // echo
	c.waitFor("echo started in")
	r.waitState("echo", supervisor.StateRunning)
	c.waitScreen("echo row running with a pid", func(s string) bool {
		return regexp.MustCompile(`echo\s+● running\s+\d+`).MatchString(rowOf(s, "echo"))
	})

	c.press("x")
	c.waitFor("Stop echo?", "y/enter")
	c.press("n") // declined: nothing happens
	s := c.waitScreen("dialog closed", func(s string) bool { return !strings.Contains(s, "Stop echo?") })
	if !strings.Contains(rowOf(s, "echo"), "running") {
		t.Fatalf("echo stopped although the stop was declined:\n%s", s)
	}
	c.press("x")
	c.waitFor("Stop echo?")
	c.press("y")
	c.waitFor("echo stopped in")
	r.waitState("echo", supervisor.StateStopped)
	c.waitScreen("echo row stopped", func(s string) bool { return strings.Contains(rowOf(s, "echo"), "■ stopped") })

	c.press("r")
	c.waitFor("echo restarted in")
	r.waitState("echo", supervisor.StateRunning)
	c.waitScreen("echo row running", func(s string) bool { return strings.Contains(rowOf(s, "echo"), "● running") })
}

func TestSendTaskWithForm(t *testing.T) {
	r := startRig(t, true)
	r.waitState("echo", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 140, 40)
	c.waitFor("ticker")
	c.press("j", "t")
	c.waitFor("Send a task to echo", "content")
	// Keys that are bindings elsewhere (q quits, s starts, x stops) are text here.
	c.typeText("quiet sx?")
	c.waitFor("quiet sx?")
	c.press("enter")
	s := c.waitFor("echo answered task 1 in", "content=quiet sx?")
	if strings.Contains(s, "Stop echo") {
		t.Fatalf("a key typed into the form reached the bindings:\n%s", s)
	}
	// The Tasks tab shows the round trip with its reply and RTT.
	s = c.waitScreen("answered round trip", func(s string) bool {
		return regexp.MustCompile(`quiet sx\?\s+content=quiet sx\?\s+● answered\s+[0-9.]+(µs|ms|s)`).MatchString(s)
	})
	if !strings.Contains(titleOf(s), "3 Tasks") {
		t.Fatalf("not on the tasks tab:\n%s", s)
	}
	// Enter opens the full reply.
	c.press("enter")
	c.waitFor("reply record 1 of 1", "task_status", "rtt")
	c.press("esc")
	c.waitFor("round trips")
}

// TestTaskRowKeyedByToken: the console knows its task's token before the
// reply, shows the row as pending under it, and the outcome lands in that
// same row.
func TestTaskRowKeyedByToken(t *testing.T) {
	r := startRig(t, true)
	r.waitState("chaos", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 140, 40)
	c.waitFor("ticker")
	c.press(":")
	c.typeText("send chaos 8 300ms") // 8: sleep, then reply
	c.press("enter")
	var token string
	var pending supervisor.Outcome
	waitUntil(t, "the pending row", func() bool {
		c.inspect(func(m *Model) {
			ts, _ := m.store.Tasks("chaos")
			if ts.Len() == 1 && ts.At(0).Mine {
				token, pending = ts.At(0).Token, ts.At(0).Outcome
			}
		})
		return token != ""
	})
	if pending != supervisor.OutcomePending || !strings.HasPrefix(token, "c") {
		t.Fatalf("row before the reply: token %q, outcome %s", token, pending)
	}
	c.waitFor("chaos answered task 8 in")
	var got []state.Task
	c.inspect(func(m *Model) {
		ts, _ := m.store.Tasks("chaos")
		for i := range ts.Len() {
			got = append(got, *ts.At(i))
		}
	})
	if len(got) != 1 || got[0].Token != token || got[0].Outcome != supervisor.OutcomeAnswered || got[0].RTT <= 0 {
		t.Fatalf("rows after the reply: %+v; want the one row of token %s answered", got, token)
	}
}

func TestTaskFormCancelAndQDoesNotQuit(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{StopEngine: func() { t.Error("StopEngine called from the form") }}, 120, 40)
	c.waitFor("ticker")
	c.press("t")
	c.waitFor("Send a task to chaos")
	c.press("q", "q", "ctrl+c") // ctrl+c cancels the form, it does not quit
	c.waitScreen("form closed", func(s string) bool { return !strings.Contains(s, "Send a task") })
	c.press("esc")
	if s := c.screen(); !strings.Contains(s, "ticker") {
		t.Fatalf("console gone after typing q into the form:\n%s", s)
	}
}

func TestCommandLineSend(t *testing.T) {
	r := startRig(t, true)
	r.waitState("echo", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 140, 40)
	c.waitFor("ticker")
	c.press(":")
	c.typeText("send ec")
	c.press("tab") // completes the plugin name
	c.waitFor(":send echo ")
	c.typeText("1 hello")
	c.press("enter")
	s := c.waitFor("echo answered task 1 in", "content=hello")
	if !strings.Contains(titleOf(s), "echo") {
		t.Fatalf("the task's plugin is not selected:\n%s", s)
	}
	c.press(":")
	c.typeText("stop ticker")
	c.press("enter")
	c.waitFor("ticker stopped in")
	c.press(":")
	c.typeText("bogus")
	c.press("enter")
	c.waitFor(`unknown command "bogus"`)
}

func TestPing(t *testing.T) {
	r := startRig(t, true)
	r.waitState("echo", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitFor("ticker")
	c.press("j", "p")
	c.waitScreen("pong", func(s string) bool { return regexp.MustCompile(`echo: pong in [0-9.]+(µs|ms)`).MatchString(s) })
	c.press(":")
	c.typeText("ping nosuch")
	c.press("enter")
	c.waitFor("ping nosuch:", "unknown plugin")
}

func TestLogsFilter(t *testing.T) {
	r := startRig(t, true)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitFor("chaos: stderr line 2") // chaos (selected) writes a line every 50 ms
	c.press("tab", "/")               // the detail pane: on the table, / filters plugins
	c.typeText("=LINE 3")             // "=": a filter; case does not matter
	c.press("enter")
	s := c.waitFor("filter LINE 3", "chaos: stderr line 3")
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "stderr line") {
			if !regexp.MustCompile(`err chaos: stderr line 3\d*\s`).MatchString(l) {
				t.Errorf("line not matching the filter shown: %q", l)
			}
		}
	}
	c.press("esc") // clears the filter
	c.waitScreen("filter cleared", func(s string) bool {
		return !strings.Contains(s, "filter LINE 3") && strings.Contains(s, "stderr line 2")
	})
	// Wrap and timestamps toggle.
	c.press("z")
	c.waitScreen("timestamps", func(s string) bool {
		return regexp.MustCompile(`\d\d:\d\d:\d\d\.\d{3} err chaos`).MatchString(s)
	})
	c.press("w")
	c.waitFor("wrap on")
	c.press("f")
	c.waitFor("follow off")
}

func TestTabs(t *testing.T) {
	r := startRig(t, true)
	r.waitState("ticker", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitFor("ticker")
	c.press("G") // ticker
	c.press("2")
	c.waitFor("DATA_TYPE", "tick", "seq=")
	c.press("tab", "enter") // focus the detail pane; open the newest record
	c.waitFor("record ", "interval", "50ms")
	c.press("esc")
	c.press("3")
	c.waitFor("no tasks yet")
	c.press("4")
	c.waitFor("sha256", "stdout log", "exit history")
	c.press("1")
	c.waitFor("follow on")
}

func TestThemes(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{Theme: "dark"}, 120, 40)
	c.waitFor("theme dark")
	c.press("T")
	c.waitFor("theme light")
	c.press("T")
	c.waitFor("theme high-contrast")
	c.press("T")
	c.waitFor("theme no-color")
	c.press(":")
	c.typeText("theme dark")
	c.press("enter")
	c.waitFor("theme dark")
	c.press(":")
	c.typeText("theme nope")
	c.press("enter")
	c.waitFor(`no theme "nope"`)
}

func TestResize(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{}, 80, 24)
	s := c.waitFor("ticker")
	if strings.Contains(s, "at a glance") {
		t.Fatal("summary pane shown at 80x24")
	}
	c.tm.Send(tea.WindowSizeMsg{Width: 160, Height: 48})
	s = c.waitFor("chaos at a glance", "TREND")
	if n := len(strings.Split(s, "\n")); n != 48 {
		t.Errorf("screen has %d lines at 160x48", n)
	}
	c.tm.Send(tea.WindowSizeMsg{Width: 30, Height: 10})
	c.waitFor("needs at least")
	c.tm.Send(tea.WindowSizeMsg{Width: 100, Height: 30})
	s = c.waitScreen("stacked layout", func(s string) bool { return strings.Contains(s, "ticker") && !strings.Contains(s, "at a glance") })
	for i, l := range strings.Split(s, "\n") {
		if w := ansi.StringWidth(l); w != 100 {
			t.Errorf("line %d is %d cells wide at 100 columns: %q", i+1, w, l)
		}
	}
}

func TestMouseSelectsRowAndTab(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	s := c.waitFor("ticker")
	y := -1
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimLeft(l, "│ "), "ticker ") {
			y = i
		}
	}
	c.tm.Send(tea.MouseClickMsg{Button: tea.MouseLeft, X: 4, Y: y})
	s = c.waitScreen("ticker selected", func(s string) bool { return strings.Contains(titleOf(s), "ticker") })
	ty := -1
	for i, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "1 Logs") {
			ty = i
		}
	}
	x := strings.Index(lines[ty], "4 Info")
	c.tm.Send(tea.MouseClickMsg{Button: tea.MouseLeft, X: len([]rune(lines[ty][:x])), Y: ty})
	c.waitFor("sha256")
}

func TestDroppedEventsShown(t *testing.T) {
	r := startRig(t, true)
	r.waitState("chaos", supervisor.StateRunning)
	// A one-event buffer cannot keep up with 3,000 lines written at once.
	c := newConsole(t, r.sup, Options{eventBuf: 1}, 120, 40)
	c.waitFor("ticker")
	c.press(":")
	c.typeText("send chaos 4 3000")
	c.press("enter")
	c.waitFor("events dropped")
}

func TestQuitWithRunningPlugins(t *testing.T) {
	r := startRig(t, true)
	r.waitState("echo", supervisor.StateRunning)
	r.waitState("ticker", supervisor.StateRunning)
	var stopped atomic.Bool
	c := newConsole(t, r.sup, Options{StopEngine: func() { stopped.Store(true); r.cancel() }, EngineDone: r.done}, 120, 40)
	c.waitScreen("3 running", func(s string) bool { return strings.Contains(s, "● 3 running") })
	c.press("q")
	c.waitFor("3 plugins are running. Stop them and quit?")
	c.press("n")
	c.waitScreen("dialog closed", func(s string) bool { return !strings.Contains(s, "Stop them and quit?") })
	if stopped.Load() {
		t.Fatal("StopEngine called although the quit was declined")
	}
	c.press("q")
	c.waitFor("Stop them and quit?")
	c.press("y")
	c.tm.WaitFinished(t, teatest.WithFinalTimeout(30*time.Second))
	if !stopped.Load() {
		t.Fatal("StopEngine not called")
	}
	select {
	case <-r.done:
	default:
		t.Fatal("the console ended before the engine")
	}
	final := ansi.Strip(c.tm.FinalModel(t).View().Content)
	if !strings.Contains(final, "Stopping plugins") {
		t.Errorf("no stop progress on the final screen:\n%s", final)
	}
	for _, st := range supervisortest.SnapshotOf(t, r.sup) {
		if st.State != supervisor.StateStopped {
			t.Errorf("%s is %s after quitting", st.Instance, st.State)
		}
	}
}

func TestQuitAttachedLeavesPluginsRunning(t *testing.T) {
	r := startRig(t, true)
	r.waitState("echo", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 120, 40) // no StopEngine: attached
	c.waitFor("ticker")
	c.press("q")
	c.tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	r.waitState("echo", supervisor.StateRunning)
}

func TestThemeChoice(t *testing.T) {
	r := startRig(t, false)
	noEnv := func(string) string { return "" }
	t.Run("follows the terminal background", func(t *testing.T) {
		c := newConsole(t, r.sup, Options{getenv: noEnv}, 100, 30)
		c.waitFor("theme dark")
		c.tm.Send(tea.BackgroundColorMsg{Color: color.White})
		c.waitFor("theme light")
	})
	t.Run("NO_COLOR", func(t *testing.T) {
		env := func(k string) string { return map[string]string{"NO_COLOR": "1"}[k] }
		c := newConsole(t, r.sup, Options{getenv: env}, 100, 30)
		c.waitFor("theme no-color")
	})
	t.Run("user theme", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "dusk.toml"), []byte("extends = \"light\"\naccent = \"#ff00ff\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		c := newConsole(t, r.sup, Options{Theme: "dusk", ThemeDir: dir, getenv: noEnv}, 100, 30)
		c.waitFor("theme dusk")
	})
	t.Run("bad theme file falls back to the default", func(t *testing.T) {
		dir := t.TempDir()
		bad := filepath.Join(dir, "dusk.toml")
		if err := os.WriteFile(bad, []byte("text = \"#fff\"\naccent = \"purple\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		c := newConsole(t, r.sup, Options{Theme: "dusk", ThemeDir: dir, getenv: noEnv}, 200, 30)
		c.waitFor("theme dark", bad+":2: accent:", `no theme "dusk"`)
	})
}
