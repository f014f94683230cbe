package describe

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

const digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// TestDescribeWrapsWhole: at any width every value is drawn whole: a
// digest stays on one line (under its label when the value column is too
// narrow for it), a long reason wraps, nothing is wider than the view; the
// cursor's entry is the one y copies, unwrapped.
func TestDescribeWrapsWhole(t *testing.T) {
	at := time.Date(2026, 3, 4, 10, 20, 30, 0, time.UTC)
	reason := "start refused: " + strings.Repeat("a long explanation ", 12) + "end"
	s := state.New()
	s.SetSnapshot([]supervisor.PluginStatus{{Name: "echo", Instance: "echo", State: supervisor.StateFailed, Since: at,
		Reason: reason, SHA256: digest, Started: at.Add(-time.Minute), LimitsNotEnforced: "memory_max: no cgroup2 mount",
		Exits: []supervisor.Exit{{Time: at, Code: 1, Reason: reason}}}}, supervisor.Info{})
	c := pvctx.New(themes.Default(), func() time.Time { return at })
	for _, w := range []int{80, 72, 120} { // at 72 the digest goes under its label
		m := New("echo")
		got := ansi.Strip(m.View(c, s, w, 200))
		var inner []string
		for _, l := range strings.Split(got, "\n") {
			inner = append(inner, strings.Trim(l, "│ "))
		}
		flat := strings.Join(strings.Fields(strings.Join(inner, " ")), " ")
		if !strings.Contains(got, digest) {
			t.Errorf("at %d the digest is not whole on a line:\n%s", w, got)
		}
		if n := strings.Count(flat, reason); n != 2 {
			t.Errorf("at %d the reason is whole %d times, want 2 (state, exit):\n%s", w, n, got)
		}
		for _, l := range strings.Split(got, "\n") {
			if ansi.StringWidth(l) != w {
				t.Errorf("at %d a line is %d wide: %q", w, ansi.StringWidth(l), l)
			}
		}
		for m.Top(); ; m.Move(1) {
			e, _ := m.Selected()
			if e.Label == "sha256" {
				if e.Value != digest {
					t.Errorf("the cursor's value is %q", e.Value)
				}
				break
			}
			if m.Cursor() >= len(m.owner)-1 {
				t.Fatal("no sha256 entry")
			}
		}
	}
}

// TestDescribeGone: a plugin removed by a reload says so instead of
// drawing stale values.
func TestDescribeGone(t *testing.T) {
	c := pvctx.New(themes.Default(), time.Now)
	m := New("gone")
	if got := ansi.Strip(m.View(c, state.New(), 80, 24)); !strings.Contains(got, "gone is gone") {
		t.Fatalf("no word of the missing plugin:\n%s", got)
	}
	if _, ok := m.Selected(); ok {
		t.Fatal("an entry selected in an empty view")
	}
}

// TestDescribeHost: over many hosts describe begins with the host, its
// labels and whether it answers; an unreachable one says since when.
func TestDescribeHost(t *testing.T) {
	at := time.Date(2026, 3, 4, 10, 20, 30, 0, time.UTC)
	s := state.New()
	s.SetSnapshot([]supervisor.PluginStatus{
		{Name: "edge-1/echo", Instance: "edge-1/echo.0", State: supervisor.StateRunning, Since: at, Host: "edge-1",
			HostLabels: map[string]string{"role": "edge", "env": "prod"}, HostLastSeen: at.Add(-time.Second)},
		{Name: "lab/echo", Instance: "lab/echo", State: supervisor.StateRunning, Since: at, Host: "lab",
			HostLastSeen: at.Add(-12 * time.Second), HostUnreachable: true},
		{Name: "echo", Instance: "echo", State: supervisor.StateRunning, Since: at},
		{Name: "new/echo", Instance: "new/echo", State: supervisor.StateStopped, Host: "new", HostUnreachable: true},
	}, supervisor.Info{})
	c := pvctx.New(themes.Default(), func() time.Time { return at })
	for _, w := range []int{80, 160} {
		up := ansi.Strip(New("edge-1/echo.0").View(c, s, w, 60))
		for _, want := range []string{"host", "edge-1", "env=prod,role=edge", "answering · last seen 2026-03-04 10:20:29"} {
			if !strings.Contains(up, want) {
				t.Errorf("at %d describe of a reachable host lacks %q:\n%s", w, want, up)
			}
		}
		gone := ansi.Strip(New("lab/echo").View(c, s, w, 60))
		if !strings.Contains(strings.Join(strings.Fields(gone), " "), "unreachable, last seen 12s ago") {
			t.Errorf("at %d describe of an unreachable host:\n%s", w, gone)
		}
	}
	// A host never seen answering: no stamp of the year 1, no "(-)"; and no
	// labels is said so.
	never := strings.Join(strings.Fields(ansi.Strip(New("new/echo").View(c, s, 80, 60))), " ")
	if !strings.Contains(never, "unreachable, never seen: what follows") || !strings.Contains(never, "labels none") {
		t.Errorf("describe of a host never seen:\n%s", never)
	}
	if local := ansi.Strip(New("echo").View(c, s, 80, 60)); strings.Contains(local, "labels") {
		t.Errorf("one host's plugin described with a host section:\n%s", local)
	}
}
