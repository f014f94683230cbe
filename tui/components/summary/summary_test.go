package summary

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

// TestSummaryRTT: the tasks line gives the RTT percentiles, "-" while no
// task has been answered (0s would read as a measurement).
func TestSummaryRTT(t *testing.T) {
	c := pvctx.New(themes.Default(), time.Now)
	for _, tc := range []struct {
		p50, p99 time.Duration
		want     string
	}{{0, 0, "rtt p50 - p99 -"}, {120 * time.Microsecond, 2 * time.Millisecond, "rtt p50 120µs p99 2.0ms"}} {
		s := state.New()
		s.SetSnapshot([]supervisor.PluginStatus{{Name: "echo", Instance: "echo", State: supervisor.StateRunning,
			RTTp50: tc.p50, RTTp99: tc.p99}}, supervisor.Info{})
		got := ansi.Strip(View(c, s, "echo", 70, Height))
		if !strings.Contains(got, tc.want) || strings.Contains(got, "p50 0s") {
			t.Errorf("no %q in:\n%s", tc.want, got)
		}
	}
}
