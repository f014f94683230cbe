package tui

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/plugvisor/plugvisor/fleet"
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
			goldenScreen(t, c, name, size[0], size[1])
		})
	}
}

// goldenScreen quits c and compares its last screen with
// testdata/golden/name, after checking it fills the w×h terminal exactly.
func goldenScreen(t *testing.T, c *console, name string, w, h int) {
	t.Helper()
	_ = c.tm.Quit()
	got := ansi.Strip(c.tm.FinalModel(t).View().Content)
	lines := strings.Split(got, "\n")
	if len(lines) != h {
		t.Errorf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n != w {
			t.Errorf("line %d is %d cells wide, want %d", i+1, n, w)
		}
	}
	testutil.Golden(t, goldenDir, name, got)
}

// TestGoldenScreensHosts compares whole screens over many hosts: a fleet
// of two real engines served on NATS, plugins configured but not started,
// the second host unreachable since 12 s before the fixed clock. The fleet
// names both hosts and discovers once, so each is found by the calls of a
// console, and lab, seen only while the fleet's clock read 12 s before,
// is seen then and never again.
func TestGoldenScreensHosts(t *testing.T) {
	edge := startRigWith(t, func(tb testing.TB) string {
		return pluginTOML(tb, "echo", false, "instances = 2") + pluginTOML(tb, "ticker", false, "")
	})
	lab := startRigWith(t, func(tb testing.TB) string { return pluginTOML(tb, "echo", false, "") })
	clock := supervisortest.InfoOf(t, edge.sup).Started.Add(2*time.Hour + 30*time.Second)
	var fleetNow atomic.Pointer[time.Time]
	fleetNow.Store(new(clock.Add(-12 * time.Second)))
	sel, err := fleet.ParseSelector("host=edge-1|lab")
	if err != nil {
		t.Fatal(err)
	}
	hosts := startFleetRig(t, fleet.FleetOptions{Selector: sel, DiscoverEvery: time.Hour, Now: func() time.Time { return *fleetNow.Load() }},
		hostSpec{"edge-1", map[string]string{"env": "prod", "role": "edge"}, edge.sup}, hostSpec{"lab", map[string]string{"env": "dev"}, lab.sup})
	hosts.unserve("lab") // lab seen once, then gone
	fleetNow.Store(&clock)
	hosts.waitHost("lab", true)
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		name := fmt.Sprintf("console-hosts-%dx%d", size[0], size[1])
		t.Run(name, func(t *testing.T) {
			c := newConsole(t, hosts.fleet, Options{now: func() time.Time { return clock }}, size[0], size[1])
			c.waitFor("edge-1", "lab", "up 2h00m")
			c.press("G") // lab's row, the last: the detail pane says it is gone
			c.waitFor("⚠ host lab unreachable")
			goldenScreen(t, c, name, size[0], size[1])
		})
	}
}
