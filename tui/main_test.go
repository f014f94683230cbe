package tui

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

func TestMain(m *testing.M) {
	if os.Getenv(panicChildEnv) == "1" {
		os.Exit(panicChild())
	}
	os.Exit(supervisortest.Main(m))
}

// rig is a real supervisor running the example plugins for one test.
type rig struct {
	t      testing.TB
	sup    *supervisor.Supervisor
	dir    string
	cancel func()          // stop the engine without waiting
	done   <-chan struct{} // closed when the engine has stopped
	stop   func()          // stop the engine and wait
}

// pluginTOML is an example plugin's table at version 1.0.0.
func pluginTOML(t testing.TB, name string, autoStart bool, extra string) string {
	return supervisortest.Plugin(t, name, supervisortest.Bin(name), fmt.Sprintf("version = \"1.0.0\"\nauto_start = %v\n%s", autoStart, extra))
}

// startRig runs echo, ticker (every 50 ms) and chaos (a stderr line every
// 50 ms), started at once when autoStart.
func startRig(t *testing.T, autoStart bool) *rig {
	t.Helper()
	return startRigWith(t, func(tb testing.TB) string {
		return pluginTOML(tb, "chaos", autoStart, `args = ["--stderr-every", "50ms"]`) +
			pluginTOML(tb, "echo", autoStart, "") +
			pluginTOML(tb, "ticker", autoStart, `args = ["--interval", "50ms"]`+"\nrestart = \"always\"")
	})
}

// startRigWith runs a supervisor with the plugin tables plugins returns, on
// host "testhost" so headers (and golden screens) do not name this machine.
func startRigWith(t testing.TB, plugins func(testing.TB) string) *rig {
	t.Helper()
	e := supervisortest.Start(t, plugins(t), supervisortest.Options{Agent: map[string]string{
		"host": `"testhost"`, "heartbeat_interval": `"200ms"`, "heartbeat_timeout": `"2s"`,
	}})
	return &rig{t: t, sup: e.Sup, dir: e.Dir, cancel: e.Cancel, done: e.Done(), stop: e.Stop}
}

// waitState waits until every instance of name is in state want.
func (r *rig) waitState(name string, want supervisor.State) {
	r.t.Helper()
	waitUntil(r.t, name+" "+string(want), func() bool {
		for _, st := range supervisortest.SnapshotOf(r.t, r.sup) {
			if st.Name == name && st.State != want {
				return false
			}
		}
		return true
	})
}

// waitUntil polls cond. The deadline only bounds a hung test; it asserts
// nothing about speed.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.WaitUntil(t, what, 30*time.Second, cond)
}

// console is a console under teatest, attached to a rig.
type console struct {
	t  *testing.T
	tm *teatest.TestModel
	m  *Model
}

// probeMsg asks the running program for its current screen. A program
// filter answers it on the event loop, where reading the model is safe.
type probeMsg struct{ reply chan string }

// inspectMsg runs fn on the model, on the event loop.
type inspectMsg struct {
	fn   func(*Model)
	done chan struct{}
}

func probeFilter(m tea.Model, msg tea.Msg) tea.Msg {
	switch p := msg.(type) {
	case probeMsg:
		p.reply <- ansi.Strip(m.View().Content)
		return nil
	case inspectMsg:
		p.fn(m.(*Model))
		close(p.done)
		return nil
	}
	return msg
}

// inspect runs fn on the console's model where reading it is safe.
func (c *console) inspect(fn func(*Model)) {
	c.t.Helper()
	done := make(chan struct{})
	go c.tm.Send(inspectMsg{fn, done})
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		c.t.Fatal("the console did not answer an inspection")
	}
}

// newConsole starts a console; with no theme named it uses dark, so tests
// do not depend on the terminal or NO_COLOR.
func newConsole(t *testing.T, api supervisor.API, opts Options, w, h int) *console {
	t.Helper()
	if opts.Theme == "" && opts.getenv == nil {
		opts.Theme = "dark"
	}
	m := newModel(api, opts)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h),
		teatest.WithProgramOptions(tea.WithFilter(probeFilter)))
	c := &console{t: t, tm: tm, m: m}
	t.Cleanup(func() {
		_ = tm.Quit()
		tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
		m.close()
	})
	return c
}

// screen is the console's current screen, ANSI stripped.
func (c *console) screen() string {
	reply := make(chan string, 1)
	go c.tm.Send(probeMsg{reply})
	select {
	case s := <-reply:
		return s
	case <-time.After(5 * time.Second):
		return ""
	}
}

// waitFor waits until the screen contains every one of want.
func (c *console) waitFor(want ...string) string {
	c.t.Helper()
	return c.waitScreen(fmt.Sprintf("%q", want), func(s string) bool { return containsAll(s, want) })
}

// waitScreen waits until cond holds for the screen.
func (c *console) waitScreen(what string, cond func(string) bool) string {
	c.t.Helper()
	var s string
	if !testutil.Until(30*time.Second, func() bool { s = c.screen(); return cond(s) }) {
		c.t.Fatalf("screen never showed %s; last screen:\n%s", what, s)
	}
	return s
}

func containsAll(s string, want []string) bool {
	for _, w := range want {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// press sends keys by name: "j", "enter", "ctrl+c", "shift+tab", "G".
func (c *console) press(names ...string) {
	for _, n := range names {
		c.tm.Send(keyPress(n))
	}
}

// typeText types literal text, one key per rune.
func (c *console) typeText(s string) { c.tm.Type(s) }

func keyPress(name string) tea.KeyPressMsg {
	special := map[string]tea.KeyPressMsg{
		"enter":     {Code: tea.KeyEnter},
		"esc":       {Code: tea.KeyEscape},
		"tab":       {Code: tea.KeyTab},
		"shift+tab": {Code: tea.KeyTab, Mod: tea.ModShift},
		"ctrl+c":    {Code: 'c', Mod: tea.ModCtrl},
		"backspace": {Code: tea.KeyBackspace},
		"up":        {Code: tea.KeyUp},
		"down":      {Code: tea.KeyDown},
		"space":     {Code: tea.KeySpace, Text: " "},
	}
	if k, ok := special[name]; ok {
		return k
	}
	r := []rune(name)[0]
	return tea.KeyPressMsg{Code: r, Text: name}
}

// rowOf returns the screen line showing a plugin's row.
func rowOf(screen, name string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, "│ "), name+" ") {
			return l
		}
	}
	return ""
}
