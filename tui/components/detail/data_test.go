package detail

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/themes"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/state"
)

// recordsStore is a store with one instance, "ticker", holding n records
// of data_type typ (alternating with "other" when mixed).
func recordsStore(n int, typ string, mixed bool) *state.Store {
	s := state.New()
	s.SetSnapshot([]supervisor.PluginStatus{{Name: "ticker", Instance: "ticker", State: supervisor.StateRunning}}, supervisor.Info{})
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var recs []protocol.Record
	for i := range n {
		dt := typ
		if mixed && i%2 == 1 {
			dt = "other"
		}
		recs = append(recs, protocol.Record{Timestamp: at.Add(time.Duration(i) * time.Second).UnixNano(),
			Fields: map[string]string{protocol.FieldDataType: dt, "seq": itoa(i + 1), "note": "n" + itoa(i%3)}})
	}
	s.Apply([]supervisor.Event{{Type: supervisor.EventRecords, Plugin: "ticker", Instance: "ticker", Time: at, Records: recs}})
	return s
}

func plainLines(lines []string) string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.TrimRight(ansi.Strip(l), " ")
	}
	return strings.Join(out, "\n")
}

// TestDataMatchCount: the filter's count is in words that agree with it.
func TestDataMatchCount(t *testing.T) {
	c := pvctx.New(themes.Default(), time.Now)
	for _, tc := range []struct {
		n    int
		want string
	}{{1, " 1 match"}, {11, " 11 matches"}} {
		s := recordsStore(tc.n, "tick", false)
		v := dataView{filter: "tick"}
		got := plainLines(v.lines(c, s.Plugin("ticker"), 100, 20))
		if !strings.Contains(got, tc.want) || strings.Contains(got, tc.want+"es"+"es") {
			t.Errorf("%d records: no %q in:\n%s", tc.n, tc.want, got)
		}
		if tc.n == 11 && strings.Contains(got, "11 match ") {
			t.Errorf("11 match in:\n%s", got)
		}
	}
}
