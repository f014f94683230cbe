package plugins

import (
	"slices"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/tui/state"
)

// withBareHost is hosts() and a fourth host, bare, with no labels at all.
func withBareHost() *state.Store {
	s := hosts()
	var sts []supervisor.PluginStatus
	for _, id := range s.Order() {
		sts = append(sts, s.Plugin(id).Status)
	}
	st := sts[0]
	st.Name, st.Instance, st.Host, st.HostLabels, st.HostUnreachable = "bare/echo", "bare/echo", "bare", nil, false
	s.SetSnapshot(append(sts, st), s.Info)
	return s
}

// TestSelectorEdges: the label filter's odd inputs. KEY!=VALUE holds for a
// host without the label, as !KEY=VALUE does; empty terms (a trailing or
// doubled comma, as while typing) are ignored rather than turning the
// filter into a fuzzy one that matches nothing; alternatives and globs are
// read as the fleet's selectors write them; the logs' =TEXT and -f TEXT
// forms are the table's fuzzy filter. Nothing panics.
func TestSelectorEdges(t *testing.T) {
	s := withBareHost()
	var m Model
	rows := func(f string) []string {
		m.SetFilter(f)
		m.Sync(s, t0)
		return slices.Clone(m.Rows())
	}
	lab := []string{"lab/echo.0", "lab/echo.1", "lab/ticker"}
	if got, want := rows("env!=prod"), rows("!env=prod"); !slices.Equal(got, want) {
		t.Errorf("env!=prod %v, !env=prod %v: a host without env is not prod", got, want)
	}
	if got := rows("env!=prod"); !slices.Contains(got, "bare/echo") || !slices.Contains(got, "lab/ticker") {
		t.Errorf("env!=prod %v: lacks the unlabelled host or lab", got)
	}
	for _, f := range []string{"env=dev,", "env=dev,,", ",env=dev", " env=dev , "} {
		if got := rows(f); !slices.Equal(got, lab) {
			t.Errorf("filter %q: %v, want lab's rows", f, got)
		}
	}
	if got := rows("host=lab|bare"); !slices.Equal(got, append(slices.Clone(lab[:0:0]), "bare/echo", "lab/echo.0", "lab/echo.1", "lab/ticker")) {
		t.Errorf("host=lab|bare: %v", got)
	}
	if got := rows("host=edge-*,role=core"); !slices.Equal(got, []string{"edge-2/echo.0", "edge-2/echo.1", "edge-2/ticker"}) {
		t.Errorf("host=edge-*,role=core: %v", got)
	}
	if got := rows("host!=edge-*"); !slices.Equal(got, append([]string{"bare/echo"}, lab...)) {
		t.Errorf("host!=edge-*: %v", got)
	}
	if got, all := rows("*"), rows(""); !slices.Equal(got, all) || len(all) != 10 {
		t.Errorf("* (every host, as fleet ctl reads it): %v", got)
	}
	for _, f := range []string{"=tick", "-f tick", "=  tick"} {
		if got := rows(f); len(got) != 3 || !strings.HasSuffix(got[0], "/ticker") {
			t.Errorf("filter %q (the logs' forms): %v, want every ticker", f, got)
		}
	}
	if got := rows("!=tick"); slices.ContainsFunc(got, func(id string) bool { return strings.HasSuffix(id, "ticker") }) || len(got) == 0 {
		t.Errorf("!=tick: %v, want every row but the tickers", got)
	}
	for _, f := range []string{"=", "a=", ",,", ",", "!", "!=", "=,=", "a=,b=", "host=[", "a!=", "=a=b", strings.Repeat("a=b,", MaxFilter)} {
		_ = rows(f) // must not panic
		if got := rows(f); f == "a=" && len(got) != 0 {
			t.Errorf("a= (no host has an empty label) %v", got)
		}
	}
}

// TestUnreachableRowAt80: at 80 columns, where HEARTBEAT is dropped, an
// unreachable host's row still replaces the figures its host can no longer
// update (REC/S, CPU, RSS) with when it was last seen, instead of drawing
// its last CPU and memory as if they were live.
func TestUnreachableRowAt80(t *testing.T) {
	s := hosts()
	var m Model
	for _, w := range []int{80, 100, 160} {
		out := draw(t, &m, s, w, 12)
		row := hostRow(out, "⚠", "echo.1")
		if !strings.Contains(row, "last seen 12s ago") {
			t.Errorf("at %d the unreachable row %q does not say when it was last seen", w, row)
		}
		if strings.Contains(row, "0.5%") || strings.Contains(row, "5.0MiB") {
			t.Errorf("at %d the unreachable row %q draws its last figures as live", w, row)
		}
		if up := hostRow(out, "edge-1", "echo.1"); !strings.Contains(up, "0.5%") {
			t.Errorf("at %d the reachable row %q lost its figures", w, up)
		}
	}
}

// TestSortByNameOverHosts: NAME sorts by the name it draws, without the
// host (every host's echo.0, then echo.1, ...), ties by host; the default
// order over many hosts, by host then name, says so in the header (HOST▲),
// not NAME▲ over names out of order.
func TestSortByNameOverHosts(t *testing.T) {
	s := hosts()
	var m Model
	m.Sync(s, t0)
	if h := m.header(fit(shownColumns(s), 158)); !strings.Contains(h, "HOST▲") || strings.Contains(h, "NAME▲") {
		t.Errorf("default header over many hosts %q: want HOST▲, the order it shows", h)
	}
	if got := m.Rows()[:4]; !slices.Equal(got, []string{"edge-1/echo.0", "edge-1/echo.1", "edge-1/ticker", "edge-2/echo.0"}) {
		t.Errorf("default order %v", got)
	}
	if err := m.SortBy("name", ""); err != nil {
		t.Fatal(err)
	}
	m.Sync(s, t0)
	want := []string{"edge-1/echo.0", "edge-2/echo.0", "lab/echo.0", "edge-1/echo.1", "edge-2/echo.1", "lab/echo.1", "edge-1/ticker", "edge-2/ticker", "lab/ticker"}
	if got := m.Rows(); !slices.Equal(got, want) {
		t.Errorf("by NAME: %v\nwant %v", got, want)
	}
	if h := m.header(fit(shownColumns(s), 158)); !strings.Contains(h, "NAME▲") {
		t.Errorf("header %q", h)
	}
	m.FlipSort()
	m.Sync(s, t0)
	// Ties stay in natural order of instances whichever the direction.
	if got := m.Rows(); got[0] != "edge-1/ticker" || got[len(got)-1] != "lab/echo.0" {
		t.Errorf("by NAME desc: %v", got)
	}
	// o from the default walks on from HOST: to NAME, then STATE.
	var o Model
	o.Sync(s, t0)
	o.NextSort()
	if o.Sort() != "NAME▲" {
		t.Errorf("o after the default over many hosts: %s", o.Sort())
	}
	// One host: the default is NAME, as before.
	one := state.New()
	one.SetSnapshot([]supervisor.PluginStatus{{Name: "echo", Instance: "echo.0"}}, supervisor.Info{})
	var m1 Model
	m1.Sync(one, t0)
	if m1.Sort() != "NAME▲" {
		t.Errorf("one host's default sort %s", m1.Sort())
	}
}

// TestSetFilterBounded: the filter is cut to MaxFilter runes whoever sets
// it (:filter's argument as much as the input).
func TestSetFilterBounded(t *testing.T) {
	var m Model
	m.SetFilter(strings.Repeat("é", 10*MaxFilter))
	if n := len([]rune(m.Filter())); n != MaxFilter {
		t.Fatalf("filter of %d runes kept, want %d", n, MaxFilter)
	}
}

// TestLongHostNarrow: a host and names as long as the columns allow (24
// cells each) on the narrowest console (40 columns) and at 60: the HOST
// and NAME columns give way, cut with …, before the state is cut off.
func TestLongHostNarrow(t *testing.T) {
	s := state.New()
	host := strings.Repeat("h", 40)
	var sts []supervisor.PluginStatus
	for _, n := range []string{strings.Repeat("n", 40), "echo"} {
		sts = append(sts, supervisor.PluginStatus{Name: host + "/" + n, Instance: host + "/" + n, State: supervisor.StateStopped,
			Host: host, HostLabels: map[string]string{"env": strings.Repeat("v", 64)}})
	}
	s.SetSnapshot(sts, supervisor.Info{})
	for _, w := range []int{40, 60, 80} {
		var m Model
		out := draw(t, &m, s, w, 6)
		lines := strings.Split(out, "\n")
		for _, l := range lines[2:4] {
			if !strings.Contains(l, "■ stopped") || !strings.Contains(l, "hh") {
				t.Errorf("at %d a row lost its state or host:\n%s", w, out)
			}
		}
		if !strings.Contains(lines[1], "HOST") || !strings.Contains(lines[1], "STATE") {
			t.Errorf("at %d header %q", w, lines[1])
		}
	}
}
