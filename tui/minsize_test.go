package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/tui/render"
)

// TestMinimumSizeMessageFits: in a terminal too small for the console, its
// message fits whole, at any size down to 1x1, and says what it needs
// whenever there is room for that.
func TestMinimumSizeMessageFits(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitFor("ticker")
	for _, sz := range [][2]int{{39, 11}, {30, 3}, {20, 2}, {12, 1}, {5, 1}, {3, 3}, {1, 1}} {
		w, h := sz[0], sz[1]
		c.tm.Send(tea.WindowSizeMsg{Width: w, Height: h})
		s := c.waitScreen(fmt.Sprintf("the message at %dx%d", w, h), func(s string) bool {
			return !strings.Contains(s, "ticker")
		})
		lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
		if len(lines) > h {
			t.Errorf("%dx%d: %d lines:\n%s", w, h, len(lines), s)
		}
		for _, l := range lines {
			if render.Width(l) > w {
				t.Errorf("%dx%d: line %q is %d cells wide", w, h, l, render.Width(l))
			}
		}
		if w >= 5 && !strings.Contains(s, "40x12") {
			t.Errorf("%dx%d: the needed size is not said:\n%s", w, h, s)
		}
		if w >= 20 && h >= 2 && !strings.Contains(strings.ReplaceAll(s, "\n", " "), fmt.Sprintf("%dx%d", w, h)) {
			t.Errorf("%dx%d: the terminal's size is not said:\n%s", w, h, s)
		}
	}
	c.tm.Send(tea.WindowSizeMsg{Width: 120, Height: 40})
	c.waitFor("ticker")
}
