package tui

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	ct "github.com/plugvisor/plugvisor/control/controltest"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor"
)

// TestAttachedConsoleConnectionLost attaches a console through the control
// socket to a real supervisor, then makes the supervisor's end go away. The
// console must say the connection is lost, keep the plugin rows and logs it
// had, stop its clock, and refuse actions.
func TestAttachedConsoleConnectionLost(t *testing.T) {
	r := startRig(t, true)
	for _, name := range []string{"chaos", "echo", "ticker"} {
		r.waitState(name, supervisor.StateRunning)
	}
	// Serve the rig's supervisor as a supervisor process does; stopping the
	// server closes every connection, as the supervisor's death (kill -9) does.
	socket, stopServer := ct.ServeAPI(t, r.sup, nil)
	client := ct.DialSocket(t, socket)
	c := newConsole(t, client, Options{Lost: client.Done(), LostErr: client.Err}, 120, 40)
	before := c.waitScreen("3 running with logs", func(s string) bool {
		return strings.Contains(s, "● 3 running") && strings.Contains(s, "chaos: stderr line") && strings.Contains(s, "Plugins 3")
	})
	if strings.Contains(before, "connection to the supervisor lost") {
		t.Fatalf("loss shown while connected:\n%s", before)
	}

	stopServer()
	c.waitFor("connection to the supervisor lost", "q quits")
	// Events received before the loss are still folded in: wait until none
	// is pending.
	waitUntil(t, "the last events folded", func() bool {
		settled := false
		c.inspect(func(m *Model) {
			m.feed.mu.Lock()
			settled = m.lost && len(m.feed.pending) == 0
			m.feed.mu.Unlock()
		})
		return settled
	})
	s := c.screen()
	for _, want := range []string{"● 3 running", "Plugins 3", "chaos: stderr line"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q gone after the loss:\n%s", want, s)
		}
	}
	for _, name := range []string{"chaos", "echo", "ticker"} {
		if !strings.Contains(rowOf(s, name), "● running") {
			t.Errorf("%s row lost or changed after the loss: %q\n%s", name, rowOf(s, name), s)
		}
	}
	if strings.Contains(s, "no plugins configured") {
		t.Fatalf("table wiped:\n%s", s)
	}
	// Had the snapshot cycle gone on (each second, a failure), it would have
	// run by now, and the uptimes and ages would have moved: the screen
	// stays exactly as it was.
	time.Sleep(snapshotInterval + 200*time.Millisecond)
	if again := c.screen(); again != s {
		t.Errorf("screen changed after the loss:\n%s", testutil.LineDiff(s, again))
	}
	c.press("j", "r")
	c.waitFor("restart echo: not sent, connection to the supervisor lost")
	c.press(":")
	c.typeText("send echo 1 hi")
	c.press("enter")
	c.waitFor("task 1 → echo: not sent, connection to the supervisor lost")
	if !regexp.MustCompile(`✖ connection to the supervisor lost: control connection closed`).MatchString(c.screen()) {
		t.Errorf("header does not say why:\n%s", c.screen())
	}
}

// flakySnapshots is the real supervisor whose snapshots fail, as a remote
// one's do when a call times out, while fail is set.
type flakySnapshots struct {
	supervisor.API
	fail atomic.Bool
}

func (f *flakySnapshots) Snapshot(ctx context.Context) ([]supervisor.PluginStatus, error) {
	if f.fail.Load() {
		return nil, errors.New("injected: snapshot timed out")
	}
	return f.API.Snapshot(ctx)
}

// TestFailedSnapshotKeepsState: a snapshot that fails changes nothing the
// console shows but a warning; the next good one clears it.
func TestFailedSnapshotKeepsState(t *testing.T) {
	r := startRig(t, true)
	r.waitState("echo", supervisor.StateRunning)
	api := &flakySnapshots{API: r.sup}
	c := newConsole(t, api, Options{}, 120, 40)
	c.waitScreen("3 running", func(s string) bool { return strings.Contains(s, "● 3 running") })
	api.fail.Store(true)
	s := c.waitFor("⚠ snapshot failed: injected: snapshot timed out · last known:")
	if !strings.Contains(s, "● 3 running") || !strings.Contains(s, "Plugins 3") || strings.Contains(s, "no plugins configured") {
		t.Fatalf("a failed snapshot changed the table:\n%s", s)
	}
	for _, name := range []string{"chaos", "echo", "ticker"} {
		if rowOf(s, name) == "" {
			t.Errorf("%s row gone:\n%s", name, s)
		}
	}
	api.fail.Store(false)
	c.waitScreen("warning cleared", func(s string) bool {
		return !strings.Contains(s, "snapshot failed") && strings.Contains(s, "● 3 running")
	})
}

// TestRunReturnsConnectionLost runs the console as main does and quits it
// after the connection was lost: Run's error wraps ErrConnectionLost and
// the cause, for main's exit code.
func TestRunReturnsConnectionLost(t *testing.T) {
	r := startRig(t, false)
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inW.Close()
	lost := make(chan struct{})
	cause := errors.New("injected: peer vanished")
	shown := make(chan struct{})
	var once sync.Once
	opts := Options{
		Theme: "dark", Lost: lost, LostErr: func() error { return cause },
		onFrame: func(s string) {
			if strings.Contains(s, "connection to the supervisor lost") {
				once.Do(func() { close(shown) })
			}
		},
		in: inR, out: discard{},
		program: []tea.ProgramOption{tea.WithWindowSize(100, 30), tea.WithoutSignals()},
	}
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), r.sup, opts) }()
	close(lost)
	select {
	case <-shown:
	case <-time.After(30 * time.Second):
		t.Fatal("the loss was never shown")
	}
	if _, err := inW.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after q")
	}
	if !errors.Is(err, ErrConnectionLost) || !errors.Is(err, cause) {
		t.Fatalf("Run = %v, want ErrConnectionLost wrapping the cause", err)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
