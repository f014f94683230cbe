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
