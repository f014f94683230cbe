package detail

import (
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/themes"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/state"
)

// TestFieldNamesSanitised: a field name carrying an OSC sequence (set the
// window title) and a C1 control reaches neither the records list, the
// expanded record nor the Tasks tab's reply column, and a long name is cut.
func TestFieldNamesSanitised(t *testing.T) {
	evil := "a\x1b]0;pwned\x07\u009d0;x\x07" + strings.Repeat("n", 4096)
	s := state.New()
	s.SetSnapshot([]supervisor.PluginStatus{{Name: "p", Instance: "p", State: supervisor.StateRunning}}, supervisor.Info{})
	s.Apply([]supervisor.Event{{Type: supervisor.EventRecords, Plugin: "p", Instance: "p", Time: time.Unix(0, 0), Records: []protocol.Record{{
		Timestamp: 1, Fields: map[string]string{"data_type": "t", evil: "v"},
	}}}})
	s.AddPending("p", "tok", 1, "x", time.Unix(0, 0))
	s.Resolve("p", supervisor.Reply{Instance: "p", ID: 1, Token: "tok", Outcome: supervisor.OutcomeAnswered,
		Records: []protocol.Record{{Fields: map[string]string{"data_type": "reply", evil: "v"}}}}, nil)
	c := pvctx.New(themes.Default(), func() time.Time { return time.Unix(0, 0) })
	m := New()
	m.Show("p")
	check := func(what string) {
		t.Helper()
		got := m.View(c, s, 120, 30, true)
		if strings.Contains(got, "\x1b]") || strings.ContainsAny(got, "\x07\u009d") || strings.Contains(got, "pwned") {
			t.Errorf("%s: the frame carries the field name's sequence: %q", what, got)
		}
		for _, l := range strings.Split(got, "\n") {
			if len(l) > 2048 {
				t.Errorf("%s: a line of %d bytes", what, len(l))
			}
		}
	}
	m.SetTab(TabData)
	check("records")
	m.Enter()
	check("expanded record")
	m.SetTab(TabTasks)
	check("tasks")
}
