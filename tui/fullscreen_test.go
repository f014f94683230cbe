package tui

import (
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/supervisor"
)

// TestFullscreenKeepsFocusAndEndsOffLogs: in fullscreen logs, tab does not
// move the focus to the hidden table; leaving the Logs tab leaves
// fullscreen, so coming back shows the table again.
func TestFullscreenKeepsFocusAndEndsOffLogs(t *testing.T) {
	r := startRig(t, true)
	r.waitState("chaos", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 100, 30)
	c.waitFor("Plugins 3", "chaos: stderr line 2")
	c.press("F")
	c.waitScreen("fullscreen logs", func(s string) bool { return !strings.Contains(s, "Plugins 3") })
	c.press("tab")
	var focus pane
	c.inspect(func(m *Model) { focus = m.focus })
	if focus != paneDetail {
		t.Fatal("tab in fullscreen moved the focus to the hidden table")
	}
	c.press("shift+tab")
	c.inspect(func(m *Model) { focus = m.focus })
	if focus != paneDetail {
		t.Fatal("shift+tab in fullscreen moved the focus to the hidden table")
	}
	c.press("4")
	c.waitFor("Plugins 3")
	c.press("1")
	var full bool
	c.inspect(func(m *Model) { full = m.fullLogs() })
	if full {
		t.Fatal("back on the Logs tab, fullscreen came back")
	}
	c.waitFor("Plugins 3", "1 Logs")
}
