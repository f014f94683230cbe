package detail

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/themes"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/state"
)

// TestUnreachableHostOnEveryTab: over many hosts, while the instance's host
// does not answer, every tab begins by saying so and since when, at 80 and
// 160 columns; the age moves with the clock (the pane's cache key too);
// once the host answers again the line goes.
func TestUnreachableHostOnEveryTab(t *testing.T) {
	now := goldenAt
	c := pvctx.New(themes.Dark(), func() time.Time { return now })
	st := supervisor.PluginStatus{Name: "lab/echo", Instance: "lab/echo.0", State: supervisor.StateRunning, Since: now.Add(-time.Hour),
		Host: "lab", HostLabels: map[string]string{"env": "dev"}, HostLastSeen: now.Add(-12 * time.Second), HostUnreachable: true}
	s := state.New()
	s.SetSnapshot([]supervisor.PluginStatus{st}, supervisor.Info{})
	m := New()
	m.Show("lab/echo.0")
	for _, w := range []int{80, 160} {
		for tab := TabLogs; tab <= TabSupervisor; tab++ {
			m.SetTab(tab)
			out := ansi.Strip(m.View(c, s, w, 12, true))
			if first := strings.Split(out, "\n")[1]; !strings.Contains(first, "⚠ host lab unreachable, last seen 12s ago") {
				t.Errorf("%s at %d: first line %q", tab, w, first)
			}
			if got := len(strings.Split(out, "\n")); got != 12 {
				t.Errorf("%s at %d: %d lines, want 12", tab, w, got)
			}
		}
	}
	k := m.Key(c, s, 80, 12, true)
	now = now.Add(5 * time.Second)
	if m.Key(c, s, 80, 12, true) == k {
		t.Error("the cache key does not move with the last-seen age")
	}
	if out := ansi.Strip(m.View(c, s, 80, 12, true)); !strings.Contains(out, "last seen 17s ago") {
		t.Errorf("the age did not move:\n%s", out)
	}
	st.HostUnreachable, st.HostLastSeen = false, now
	s.SetSnapshot([]supervisor.PluginStatus{st}, supervisor.Info{})
	if out := ansi.Strip(m.View(c, s, 80, 12, true)); strings.Contains(out, "unreachable") {
		t.Errorf("the host answers again, still said unreachable:\n%s", out)
	}
}
