package tui

import (
	"strconv"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// footerLine is the help line: the screen's line before the flash line.
func footerLine(screen string) string {
	lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	if len(lines) < 2 {
		return ""
	}
	return lines[len(lines)-2]
}

// TestFooterKeepsHelpAndQuit: however narrow the terminal, the help line
// ends with ? help and quit; other hints are dropped first.
func TestFooterKeepsHelpAndQuit(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{}, 80, 24)
	c.waitFor("ticker")
	check := func(what string, also ...string) {
		t.Helper()
		c.waitScreen(what+": ? help and quit in the footer", func(s string) bool {
			l := footerLine(s)
			for _, h := range also {
				if !strings.Contains(l, h) {
					return false
				}
			}
			return strings.Contains(l, "? help") && strings.Contains(l, "q/ctrl+c quit") && !strings.Contains(l, "…")
		})
	}
	check("table at 80")
	c.press("tab")
	for _, tab := range []string{"1", "2", "3", "4"} {
		c.press(tab)
		var also []string
		if tab == "1" { // the Logs tab's own keys, which the help line is the way to learn
			also = []string{"n/N ", "F ", "ctrl+s "}
		}
		check("detail tab "+tab+" at 80", also...)
	}
	c.press("tab")
	for _, w := range []int{60, 40} {
		c.tm.Send(tea.WindowSizeMsg{Width: w, Height: 24})
		check("table at " + strconv.Itoa(w))
	}
}
