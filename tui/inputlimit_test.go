package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// TestDetailInputsLimited: the logs search and the detail filter take at
// most plugins.MaxFilter runes, as the table's filter does: a pasted
// megabyte is not a search.
func TestDetailInputsLimited(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitScreen("three rows", rowsAre("chaos", "echo", "ticker"))
	long := strings.Repeat("x", 1000)
	for _, tab := range []string{"1", "2"} { // the search, then the Data tab's filter
		c.press("tab", tab, "/")
		c.tm.Send(tea.PasteMsg{Content: long})
		var n int
		c.inspect(func(m *Model) { n = len(m.detail.Filter()) })
		if n != 128 {
			t.Errorf("tab %s: the input took %d runes", tab, n)
		}
		c.press("esc", "tab")
	}
}
