package tui

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/supervisor"
)

// bins holds the example plugins, built once for the package.
var bins string

func TestMain(m *testing.M) {
	supervisor.RunWatchdogIfRequested()
	dir, err := os.MkdirTemp("", "pvbin")
	if err != nil {
		panic(err)
	}
	build := exec.Command("go", "build", "-o", dir+"/", "../examples/cmd/...")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building example plugins:", err)
		os.Exit(2)
	}
	bins = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// rig is a real supervisor running the example plugins for one test.
type rig struct {
	t      testing.TB
	sup    *supervisor.Supervisor
	dir    string
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

const agentTOML = `[agent]
name = "test"
host = "testhost"
work_dir = %q
heartbeat_interval = "200ms"
heartbeat_timeout = "2s"
registration_timeout = "5s"
task_timeout = "10s"
stop_grace = "2s"
`

func pluginTOML(t testing.TB, name string, autoStart bool, extra string) string {
	exe := filepath.Join(bins, name)
	return fmt.Sprintf("[plugins.%s]\nexec = %q\nsha256 = %q\nversion = \"1.0.0\"\nauto_start = %v\n%s\n",
		name, exe, fileSHA(t, exe), autoStart, extra)
}

func fileSHA(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
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

// startRigWith runs a supervisor with the plugin tables plugins returns.
func startRigWith(t testing.TB, plugins func(testing.TB) string) *rig {
	t.Helper()
	dir, err := os.MkdirTemp("", "pv") // short: socket paths are limited to 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	toml := fmt.Sprintf(agentTOML, dir) + plugins(t)
	cfg, err := registry.Parse(filepath.Join(dir, "config.toml"), []byte(toml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	self, _ := os.Executable()
	sup, err := supervisor.New(supervisor.Options{
		Config: cfg, WatchdogExe: self, TermGrace: 500 * time.Millisecond,
		BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{t: t, sup: sup, dir: dir, cancel: cancel, done: make(chan struct{})}
	go func() {
		r.err = sup.Run(ctx)
		close(r.done)
	}()
	select {
	case <-sup.Ready():
	case <-r.done:
		t.Fatalf("supervisor ended before ready: %v", r.err)
	}
	t.Cleanup(r.stop)
	return r
}

// stop ends the supervisor (idempotent) and waits for every plugin to go.
func (r *rig) stop() {
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		r.t.Fatal("supervisor did not stop")
	}
}

// waitState waits until every instance of name is in state want.
func (r *rig) waitState(name string, want supervisor.State) {
	r.t.Helper()
	waitUntil(r.t, name+" "+string(want), func() bool {
		for _, st := range r.sup.Snapshot() {
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
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
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

func probeFilter(m tea.Model, msg tea.Msg) tea.Msg {
	if p, ok := msg.(probeMsg); ok {
		p.reply <- ansi.Strip(m.View().Content)
		return nil
	}
	return msg
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
	var s string
	deadline := time.Now().Add(30 * time.Second)
	for {
		s = c.screen()
		if containsAll(s, want) {
			return s
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("screen never showed %q; last screen:\n%s", want, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitScreen waits until cond holds for the screen.
func (c *console) waitScreen(what string, cond func(string) bool) string {
	c.t.Helper()
	var s string
	deadline := time.Now().Add(30 * time.Second)
	for {
		if s = c.screen(); cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("screen never showed %s; last screen:\n%s", what, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
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
