// Package header renders the console's top two lines: who is supervised, and how the plugins are doing.
package header

import (
	"strings"

	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"

	"github.com/plugvisor/plugvisor/supervisor"
)

// Height is how many lines the header takes.
const Height = 2

// order is how state counts are listed: trouble first after running.
var order = []supervisor.State{
	supervisor.StateRunning, supervisor.StateStarting, supervisor.StateStopping,
	supervisor.StateBackoff, supervisor.StateExited, supervisor.StateFailed, supervisor.StateStopped,
}

// Link is how the console's line to the supervisor stands.
type Link struct {
	Lost        bool   // the connection is gone: what is shown is the last known state
	LostErr     string // why it was lost
	SnapshotErr string // why the last snapshot failed, while connected
	Notice      string // a standing warning, such as where the control socket is
}

// View renders the header for a terminal w cells wide.
func View(c *pvctx.Context, s *state.Store, title string, link Link, w int) string {
	st := c.Styles
	info := s.Info
	if title == "" {
		title = "plugvisor"
	}
	left := st.Title.Render(title)
	if info.Name != "" {
		who := info.Name
		if info.Host != "" && info.Host != info.Name {
			who += "@" + info.Host
		}
		left += st.Faint.Render(" · ") + st.Text.Render(who)
	}
	if !info.Started.IsZero() {
		left += st.Faint.Render(" · up ") + st.Text.Render(render.Age(c.Now().Sub(info.Started)))
	}
	right := st.Faint.Render("theme ") + st.Text.Render(c.Theme.Name)
	line1 := spread(left, right, w)

	t := s.Totals()
	var parts []string
	switch {
	case link.Lost:
		lost := "✖ connection to the supervisor lost"
		if link.LostErr != "" {
			lost += ": " + render.Sanitize(link.LostErr)
		}
		parts = append(parts, st.Error.Render(lost)+st.Faint.Render(" · last known:"))
	case link.SnapshotErr != "":
		parts = append(parts, st.Warn.Render("⚠ snapshot failed: "+render.Sanitize(link.SnapshotErr))+st.Faint.Render(" · last known:"))
	}
	for _, state := range order {
		n := t.ByState[state]
		if n == 0 && state != supervisor.StateRunning {
			continue
		}
		parts = append(parts, st.State(state).Render(pvctx.Symbol(state)+" "+itoa(n)+" "+string(state)))
	}
	parts = append(parts,
		st.Text.Render(render.Rate(t.RecordsPerSec))+st.Faint.Render(" rec/s"),
		st.Text.Render(itoa(t.InFlight))+st.Faint.Render(" in flight"))
	if s.Dropped > 0 {
		dropped := "⚠ " + render.Count(s.Dropped) + " events dropped"
		if s.DroppedHere > 0 {
			// Past the console's own queue budget, not the engine's: the
			// console, not the engine, fell behind.
			dropped += " (" + render.Count(s.DroppedHere) + " by this console)"
		}
		parts = append(parts, st.Warn.Render(dropped))
	}
	if link.Notice != "" {
		parts = append(parts, st.Warn.Render("⚠ "+render.Sanitize(link.Notice)))
	}
	line2 := strings.Join(parts, "  ")
	return render.Fit(line1, w) + "\n" + render.Fit(line2, w)
}

// spread puts left and right at the two ends of a w-cell line, dropping
// right when both do not fit.
func spread(left, right string, w int) string {
	gap := w - render.Width(left) - render.Width(right)
	if gap < 2 {
		return left
	}
	return left + strings.Repeat(" ", gap) + right
}

func itoa(n int) string { return render.Count(uint64(max(n, 0))) }
