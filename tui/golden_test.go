package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// The golden screens honour teatest's -update flag (testutil.Golden).
const goldenDir = "../testdata/golden"

// TestGoldenScreens compares whole screens with testdata/golden. The setup
// is deterministic: plugins configured but not started, and a clock fixed
// two hours after the supervisor started (ages then show whole minutes, so
// the milliseconds between the engine starting and its plugins being set
// up never show).
func TestGoldenScreens(t *testing.T) {
	r := startRig(t, false)
	started := supervisortest.InfoOf(t, r.sup).Started
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		name := fmt.Sprintf("console-%dx%d", size[0], size[1])
		t.Run(name, func(t *testing.T) {
			opts := Options{now: func() time.Time { return started.Add(2*time.Hour + 30*time.Second) }}
			c := newConsole(t, r.sup, opts, size[0], size[1])
			c.waitFor("ticker", "up 2h00m")
			_ = c.tm.Quit()
			got := ansi.Strip(c.tm.FinalModel(t).View().Content)
			lines := strings.Split(got, "\n")
			if len(lines) != size[1] {
				t.Errorf("%d lines, want %d", len(lines), size[1])
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w != size[0] {
					t.Errorf("line %d is %d cells wide, want %d", i+1, w, size[0])
				}
			}
			testutil.Golden(t, goldenDir, name, got)
		})
	}
}
