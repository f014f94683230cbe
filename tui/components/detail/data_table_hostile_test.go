package detail

import (
	"strconv"
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

// hostileRecords is a store whose plugin sent n records of one data_type
// with fields field names each, in sets distinct name sets, with long
// names and long values: the table's worst case.
func hostileRecords(n, fields, sets int) *state.Store {
	s := state.New()
	s.SetSnapshot([]supervisor.PluginStatus{{Name: "p", Instance: "p", State: supervisor.StateRunning}}, supervisor.Info{})
	recs := make([]protocol.Record, n)
	for i := range recs {
		f := map[string]string{"data_type": "wide"}
		for j := range fields {
			f["field_"+strconv.Itoa(i%sets)+"_"+strconv.Itoa(j)+strings.Repeat("n", 20)] = strings.Repeat("v", 40)
		}
		recs[i] = protocol.Record{Timestamp: int64(i + 1), Fields: f}
	}
	s.Apply([]supervisor.Event{{Type: supervisor.EventRecords, Plugin: "p", Instance: "p", Time: time.Unix(0, 0), Records: recs}})
	return s
}

// TestRecordsTableHostileColumns: with thousands of field names the table
// keeps only the columns that fit at their minimum width, and no header
// name is wider than its column.
func TestRecordsTableHostileColumns(t *testing.T) {
	s := hostileRecords(40, 1000, 10)
	const w = 120
	if n := s.Plugin("p").Records.Len(); n != 40 {
		t.Fatalf("the store kept %d records", n)
	}
	names, widths := tableColumns(s.Plugin("p").Records, seqIdx(40), w)
	if len(names) > w/(minColumn+1) || len(names) != len(widths) {
		t.Fatalf("%d columns (%d widths) in %d cells", len(names), len(widths), w)
	}
	total := 0
	for _, wd := range widths {
		if wd < minColumn || wd > maxColumn {
			t.Errorf("column width %d", wd)
		}
		total += wd + 1
	}
	if total > w {
		t.Errorf("columns take %d of %d cells", total, w)
	}
	c := pvctx.New(themes.Default(), time.Now)
	m := New()
	m.Show("p")
	m.SetTab(TabData)
	m.ToggleTable(s)
	for _, l := range strings.Split(plainLines(m.data.lines(c, s.Plugin("p"), w, 42)), "\n") {
		if render.Width(l) > w {
			t.Errorf("line %d wide", render.Width(l))
		}
	}
}

func seqIdx(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// BenchmarkRecordsTableHostile draws one frame of the table for 40
// records of 1000 fields in 10 name sets (10,000 columns offered): a
// frame must stay well under 50 ms.
func BenchmarkRecordsTableHostile(b *testing.B) {
	s := hostileRecords(40, 1000, 10)
	c := pvctx.New(themes.Default(), time.Now)
	m := New()
	m.Show("p")
	m.SetTab(TabData)
	m.ToggleTable(s)
	p := s.Plugin("p")
	for b.Loop() {
		m.data.lines(c, p, 160, 42)
	}
}
