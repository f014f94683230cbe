package detail

import (
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/themes"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// TestRecordsTableFilter: the table holds the selected record's data_type
// only; field=value filters on that field, plain text on any field.
func TestRecordsTableFilter(t *testing.T) {
	s := recordsStore(30, "tick", true) // the newest (seq 30) is "other"
	m := New()
	m.Show("ticker")
	m.SetTab(TabData)
	if typ := m.ToggleTable(s); typ != "other" {
		t.Fatalf("table of %q, want the selected record's type", typ)
	}
	for _, tc := range []struct {
		filter string
		want   int
	}{{"", 15}, {"seq=1", 5}, {"SEQ=1", 5}, {"seq=", 15}, {"n2", 5}, {"nosuch=1", 0}} {
		m.SetFilter(tc.filter)
		if recs, _ := m.Shown(s); len(recs) != tc.want {
			t.Errorf("filter %q: %d shown, want %d", tc.filter, len(recs), tc.want)
		}
	}
	m.SetFilter("")
	if m.ToggleTable(s); m.Table() != "" {
		t.Fatal("v did not go back to the list")
	}
	if recs, _ := m.Shown(s); len(recs) != 30 {
		t.Fatalf("the list shows %d", len(recs))
	}
}

// TestRecordsTableColumns: columns fit their values up to a cap and
// shrink, widest first, with an ellipsis, when the pane is narrow; no line
// is wider than the pane.
func TestRecordsTableColumns(t *testing.T) {
	s := state.New()
	s.SetSnapshot([]supervisor.PluginStatus{{Name: "p", Instance: "p", State: supervisor.StateRunning}}, supervisor.Info{})
	s.Apply([]supervisor.Event{{Type: supervisor.EventRecords, Plugin: "p", Instance: "p", Time: time.Unix(0, 0), Records: []protocol.Record{{
		Timestamp: 1, Fields: map[string]string{"data_type": "wide", "a": "x", "path": strings.Repeat("p", 200), "msg": strings.Repeat("m", 30)},
	}}}})
	c := pvctx.New(themes.Default(), time.Now)
	for _, w := range []int{76, 40} {
		m := New()
		m.Show("p")
		m.SetTab(TabData)
		m.ToggleTable(s)
		lines := m.data.lines(c, s.Plugin("p"), w, 10)
		text := plainLines(lines)
		for _, l := range strings.Split(text, "\n") {
			if render.Width(l) > w {
				t.Errorf("at %d: line %d wide: %q", w, render.Width(l), l)
			}
		}
		if !strings.Contains(text, "A ") || !strings.Contains(text, "…") {
			t.Errorf("at %d: no narrow column or no ellipsis:\n%s", w, text)
		}
	}
	names, widths := tableColumns(s.Plugin("p").Records, []int{0}, 200)
	if strings.Join(names, ",") != "a,msg,path" || widths[0] != 1 || widths[1] != 30 || widths[2] != maxColumn {
		t.Errorf("columns %v %v", names, widths)
	}
}
