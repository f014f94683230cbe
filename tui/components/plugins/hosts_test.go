package plugins

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/tui/state"
)

// hosts is a store as an API over many hosts fills it: three hosts with
// labels, names qualified HOST/NAME, the last host unreachable for 12 s.
func hosts() *state.Store {
	s := state.New()
	labels := map[string]map[string]string{
		"edge-1": {"env": "prod", "role": "edge"},
		"edge-2": {"env": "prod", "role": "core"},
		"lab":    {"env": "dev"},
	}
	var sts []supervisor.PluginStatus
	for _, host := range []string{"lab", "edge-2", "edge-1"} {
		for _, id := range []string{"echo.0", "echo.1", "ticker"} {
			name, _, _ := strings.Cut(id, ".")
			st := supervisor.PluginStatus{Name: supervisor.QualifiedName(host, name), Instance: supervisor.QualifiedName(host, id),
				Version: "1.0.0", State: supervisor.StateRunning, Since: t0.Add(-time.Hour), Started: t0.Add(-time.Hour), PID: 4242,
				RSS: 5 << 20, CPUPercent: 0.5, LastHeartbeat: t0.Add(-200 * time.Millisecond), HeartbeatRTT: 300 * time.Microsecond,
				RecordsPerSec: 2, Host: host, HostLabels: labels[host], HostLastSeen: t0.Add(-200 * time.Millisecond)}
			if host == "lab" {
				// Gone 12 s ago: its last heartbeat is older still and must
				// not read as a plugin about to hang.
				st.HostUnreachable, st.HostLastSeen, st.LastHeartbeat = true, t0.Add(-12*time.Second), t0.Add(-13*time.Second)
			}
			sts = append(sts, st)
		}
	}
	s.SetSnapshot(sts, supervisor.Info{HeartbeatTimeout: 5 * time.Second})
	return s
}

// TestGoldenPaneHosts draws the table over many hosts: HOST first, NAME
// without the host, the unreachable host's rows faint with its ⚠ and, where
// the row has room, when it was last seen.
func TestGoldenPaneHosts(t *testing.T) {
	for _, size := range [][2]int{{80, 12}, {160, 12}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			s := hosts()
			var m Model
			m.Sync(s, t0)
			testutil.Golden(t, "testdata", fmt.Sprintf("plugins-hosts-%dx%d", size[0], size[1]), draw(t, &m, s, size[0], size[1]))
		})
	}
}

func TestHostCells(t *testing.T) {
	s := hosts()
	var m Model
	wide := draw(t, &m, s, 160, 12)
	if h := strings.Split(wide, "\n")[1]; !strings.HasPrefix(strings.TrimLeft(h, "│ "), "HOST") {
		t.Errorf("header %q: HOST is not the first column", h)
	}
	row := hostRow(wide, "⚠", "echo.0")
	if !strings.Contains(row, "⚠ lab") || !strings.Contains(row, "unreachable, last seen 12s ago") {
		t.Errorf("wide unreachable row %q", row)
	}
	if strings.Contains(row, "lab/") {
		t.Errorf("NAME drawn with its host: %q", row)
	}
	narrow := draw(t, &m, s, 80, 12)
	if row := hostRow(narrow, "⚠", "echo.0"); !strings.Contains(row, "⚠ lab") {
		t.Errorf("narrow unreachable row %q lacks its mark", row)
	}
	if row := hostRow(wide, "edge-1", "ticker"); strings.Contains(row, "unreachable") || !strings.Contains(row, "edge-1") {
		t.Errorf("reachable row %q", row)
	}
	// An unreachable host's old heartbeat is not graded as a hang.
	e := &env{now: t0, hbTimeout: 5 * time.Second}
	if l := beatLateness(s.Plugin("lab/echo.0"), e); l != nearlyHung {
		t.Fatalf("the fixture's heartbeat is %d, want it old enough to be graded nearly hung", l)
	}
	runs := m.cells(testContext(), s.Plugin("lab/echo.0"), fit(shownColumns(s), 60), e)
	for _, r := range runs {
		if r.style.GetForeground() == testContext().Styles.Error.GetForeground() {
			t.Errorf("run %q of an unreachable row drawn as an error", r.text)
		}
	}
	// Every host answering again: the columns stay where they were.
	up := hosts()
	var sts []supervisor.PluginStatus
	for _, id := range up.Order() {
		st := up.Plugin(id).Status
		st.HostUnreachable = false
		sts = append(sts, st)
	}
	up.SetSnapshot(sts, up.Info)
	if a, b := strings.Split(wide, "\n")[1], strings.Split(draw(t, &Model{}, up, 160, 12), "\n")[1]; a != b {
		t.Errorf("the header moved when the host came back:\n%s\n%s", a, b)
	}
	// One host: no HOST column, names as they are.
	one := state.New()
	one.SetSnapshot([]supervisor.PluginStatus{{Name: "echo", Instance: "echo.0", State: supervisor.StateStopped}}, supervisor.Info{})
	if out := draw(t, &Model{}, one, 80, 6); strings.Contains(out, "HOST") {
		t.Errorf("HOST column without hosts:\n%s", out)
	}
}

// hostRow is the screen line of host's id.
func hostRow(screen, host, id string) string {
	for _, l := range strings.Split(screen, "\n") {
		if f := strings.Fields(strings.TrimLeft(l, "│ ✓")); len(f) > 1 && (f[0] == host || f[1] == host) && slices.Contains(f, id) {
			return l
		}
	}
	return ""
}

func TestFilterByHostAndLabel(t *testing.T) {
	s := hosts()
	var m Model
	for _, c := range []struct {
		filter string
		want   []string
	}{
		{"edge1tick", []string{"edge-1/ticker"}},                                            // fuzzy, over the host too
		{"host=edge-2", []string{"edge-2/echo.0", "edge-2/echo.1", "edge-2/ticker"}},        // the host by name
		{"env=prod,role=edge", []string{"edge-1/echo.0", "edge-1/echo.1", "edge-1/ticker"}}, // every label
		{"env!=prod", []string{"lab/echo.0", "lab/echo.1", "lab/ticker"}},
		{"!env=prod", []string{"lab/echo.0", "lab/echo.1", "lab/ticker"}},
		{"env=Prod", []string{}}, // values whole, case kept
		{"zone=x", []string{}},   // a label no host has
	} {
		m.SetFilter(c.filter)
		m.Sync(s, t0)
		if got := m.Rows(); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("filter %q: %v, want %v", c.filter, got, c.want)
		}
	}
	for _, q := range []string{"a=b", "env=prod, role=edge", "k!=v"} {
		if _, ok := parseSelector(q); !ok {
			t.Errorf("%q not read as a selector", q)
		}
	}
	for _, q := range []string{"=x", "echo", "a b=c", "env=prod,echo"} {
		if _, ok := parseSelector(q); ok {
			t.Errorf("%q read as a selector", q)
		}
	}
}

func TestSortByHost(t *testing.T) {
	s := hosts()
	var m Model
	m.Sync(s, t0)
	// The default order is by qualified name: host, then instance.
	if got := m.Rows()[:2]; !slices.Equal(got, []string{"edge-1/echo.0", "edge-1/echo.1"}) {
		t.Fatalf("default order %v", got)
	}
	if err := m.SortBy("host", "desc"); err != nil {
		t.Fatal(err)
	}
	m.Sync(s, t0)
	if got := m.Rows(); got[0] != "lab/echo.0" || got[len(got)-1] != "edge-1/ticker" {
		t.Fatalf("by host desc: %v", got)
	}
	if h := m.header(fit(shownColumns(s), 158)); !strings.Contains(h, "HOST▼") {
		t.Errorf("header %q does not mark HOST▼", h)
	}
	// o walks every column, HOST among them when hosts are shown...
	seen := map[string]bool{}
	for range len(columns(0)) {
		m.NextSort()
		seen[strings.TrimRight(m.Sort(), "▲▼")] = true
	}
	if !seen["HOST"] {
		t.Errorf("o never sorted by HOST over many hosts: %v", seen)
	}
	// ...and skips it with one host, where it is not shown.
	one := state.New()
	one.SetSnapshot([]supervisor.PluginStatus{{Name: "echo", Instance: "echo.0"}}, supervisor.Info{})
	var m1 Model
	m1.Sync(one, t0)
	for range len(columns(0)) {
		m1.NextSort()
		if strings.HasPrefix(m1.Sort(), "HOST") {
			t.Fatal("o sorted by HOST with no host shown")
		}
	}
}
