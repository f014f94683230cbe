package tui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

// TestCtrlCQuitsFromOverlays: ctrl+c quits from the help and the messages
// overlays as it does from describe (nothing runs, so without asking).
func TestCtrlCQuitsFromOverlays(t *testing.T) {
	r := startRig(t, false)
	for _, open := range []string{"?", "m"} {
		c := newConsole(t, r.sup, Options{}, 120, 40)
		c.waitScreen("three rows", rowsAre("chaos", "echo", "ticker"))
		c.press(open)
		c.waitFor("closes")
		c.press("ctrl+c")
		c.tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	}
}

// TestWheelScrollsOverlay: the wheel over the open help scrolls the help,
// not the panes underneath.
func TestWheelScrollsOverlay(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{}, 120, 24)
	c.waitScreen("three rows", rowsAre("chaos", "echo", "ticker"))
	c.press("?")
	c.waitFor("1–")
	c.tm.Send(tea.MouseWheelMsg{X: 10, Y: 10, Button: tea.MouseWheelDown})
	c.waitScreen("the help scrolled", func(s string) bool { return strings.Contains(s, "4–") })
	var sel string
	c.inspect(func(m *Model) { sel = m.table.Selected })
	if sel != "chaos" {
		t.Errorf("the wheel moved the table underneath to %s", sel)
	}
}

// TestSlashFromUnfilterableTabSearches: / on the Info, Events or
// Supervisor tab goes to the Logs tab and opens its search, not the plain
// filter.
func TestSlashFromUnfilterableTabSearches(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitScreen("three rows", rowsAre("chaos", "echo", "ticker"))
	c.press("tab")
	for _, tab := range []string{"4", "5", "6"} {
		c.press(tab, "/")
		c.waitFor(searchPlaceholder)
		c.press("esc")
		c.waitScreen("search closed", func(s string) bool { return !strings.Contains(s, searchPlaceholder) })
	}
}

// TestEscOnTableKeepsLogsSearch: esc on the table with nothing of its own
// to clear leaves the Logs search of the pane without focus alone.
func TestEscOnTableKeepsLogsSearch(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitScreen("three rows", rowsAre("chaos", "echo", "ticker"))
	c.press("tab", "/")
	c.typeText("started")
	c.press("enter", "tab", "esc")
	var f string
	c.inspect(func(m *Model) { f = m.detail.Filter() })
	if f != "started" {
		t.Fatalf("esc on the table left the logs search %q", f)
	}
}
