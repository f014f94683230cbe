package main

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/internal/testutil"
)

// TestConsoleEndToEndSizes runs the demo in a real pseudo-terminal at the
// smallest and the largest sizes the goldens draw (TestConsoleEndToEnd is
// at 120x40): the first screen shows ticker with its lines, the footer
// keeps ? help and quit, help, describe, the Events tab and the table's
// filter work and fit, chaos keeps restarting (at 160x48, where the wide
// layout's at-a-glance pane shows too), and q y leaves nothing behind.
func TestConsoleEndToEndSizes(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			bin := testutil.Bin("plugvisor")
			tmp, home := shortTemp(t, "pvs")
			cmd := exec.Command(bin)
			cmd.Env = demoEnv(home, tmp)
			term := startInPty(t, cmd, size[0], size[1])
			term.waitFor(t, "ticker", "echo.0", "echo.1", "chaos", "● running")
			term.waitScreen(t, "ticker first, with its lines", func(s string) bool {
				return strings.Contains(lineWith(s, "1 Logs"), "ticker") && strings.Contains(s, `msg="tick sent"`)
			})
			term.waitScreen(t, "the footer's help and quit", func(s string) bool {
				return strings.HasSuffix(strings.TrimRight(lineWith(s, "? help"), " "), "? help • q/ctrl+c quit")
			})
			if size[0] >= 150 {
				term.waitFor(t, "at a glance")
			}
			noWider(t, term.screen(), size[0])

			term.send(t, "?")
			term.waitFor(t, "Keys", "? or esc closes")
			noWider(t, term.screen(), size[0])
			term.send(t, "\x1b")
			term.waitScreen(t, "help closed", func(s string) bool { return !strings.Contains(s, "? or esc closes") })

			term.send(t, "d")
			term.waitFor(t, "configuration", "sha256")
			noWider(t, term.screen(), size[0])
			term.send(t, "\x1b")
			term.waitScreen(t, "describe closed", func(s string) bool { return strings.Contains(s, "1 Logs") })

			term.send(t, "5")
			term.waitFor(t, "registered (pid")
			term.send(t, "1")

			term.send(t, "/")
			term.send(t, "ech")
			term.send(t, "\r")
			term.waitScreen(t, "only echo rows", func(s string) bool {
				return strings.Contains(s, "/ech 2/4") && !strings.Contains(s, "chaos ") && strings.Contains(s, "echo.1")
			})
			term.send(t, "\x1b")
			term.waitScreen(t, "every row again", func(s string) bool { return strings.Contains(s, "Plugins 4") })

			if size[0] >= 150 {
				// The demo's chaos crashes every 5 s and comes back: its
				// restarts count up, never stuck in a long backoff.
				term.waitScreen(t, "chaos restarted twice", func(s string) bool { return restarts(s, "chaos") >= 2 })
			}

			term.quitStopping(t)
			waitNoLeftovers(t, cmd.Process.Pid, tmp)
		})
	}
}

// noWider fails when a screen line is wider than the terminal (the
// emulator would wrap it).
func noWider(t *testing.T, screen string, w int) {
	t.Helper()
	for _, l := range strings.Split(screen, "\n") {
		if n := len([]rune(l)); n > w {
			t.Errorf("a line of %d runes on a %d-column terminal: %q", n, w, l)
		}
	}
}

// restarts reads the RST cell of name's row, under the header's RST (the
// column is right-aligned and as wide as its title); -1 when not shown.
func restarts(screen, name string) int {
	var col int = -1
	for _, l := range strings.Split(screen, "\n") {
		r := []rune(l)
		if i := strings.Index(l, " RST "); i >= 0 && col < 0 {
			col = len([]rune(l[:i+1]))
			continue
		}
		if col < 0 || !strings.HasPrefix(strings.TrimLeft(l, "│ "), name+" ") || len(r) < col+3 {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(r[col : col+3])))
		if err != nil {
			return -1
		}
		return n
	}
	return -1
}
