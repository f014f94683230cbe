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
	st.State = supervisor.StateStopped
	s.SetSnapshot([]supervisor.PluginStatus{st}, supervisor.Info{})
	m.SetTab(TabLogs)
	if out := ansi.Strip(m.View(c, s, 80, 12, true)); !strings.Contains(out, "no output yet") || strings.Contains(out, "s starts") {
		t.Errorf("the Logs tab of a stopped instance on an unreachable host offers s, which is refused there:\n%s", out)
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

// TestTasksOverHosts: the Tasks tab is one plugin's, on one host: its
// INSTANCE column names the instance as its host does (echo.1), not cut
// to the host's prefix (edge-1/ec…), which leaves every row alike.
func TestTasksOverHosts(t *testing.T) {
	now := goldenAt
	c := pvctx.New(themes.Dark(), func() time.Time { return now })
	s := state.New()
	var sts []supervisor.PluginStatus
	for _, id := range []string{"edge-1/echo.0", "edge-1/echo.1"} {
		sts = append(sts, supervisor.PluginStatus{Name: "edge-1/echo", Instance: id, State: supervisor.StateRunning, Host: "edge-1"})
	}
	s.SetSnapshot(sts, supervisor.Info{})
	for i, id := range []string{"edge-1/echo.0", "edge-1/echo.1"} {
		tok := "tok" + string(rune('a'+i))
		s.AddPending("edge-1/echo", tok, uint32(i+1), "hi", now)
		s.Resolve("edge-1/echo", supervisor.Reply{Plugin: "edge-1/echo", Instance: id, ID: uint32(i + 1), Token: tok,
			Outcome: supervisor.OutcomeAnswered, RTT: time.Millisecond}, nil)
	}
	m := New()
	m.Show("edge-1/echo.0")
	m.SetTab(TabTasks)
	for _, w := range []int{80, 160} {
		out := ansi.Strip(m.View(c, s, w, 12, true))
		if !strings.Contains(out, " echo.0 ") || !strings.Contains(out, " echo.1 ") || strings.Contains(out, "edge-1/ec…") {
			t.Errorf("at %d the Tasks tab does not tell its instances apart:\n%s", w, out)
		}
	}
}
