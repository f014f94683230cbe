package detail

import (
	"time"

	"github.com/plugvisor/plugvisor/internal/ring"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// SelectedTask is the round trip selected in the Tasks tab, or nil.
func (m *Model) SelectedTask(s *state.Store) *state.Task {
	p := s.Plugin(m.shown)
	if p == nil {
		return nil
	}
	ts, _ := s.Tasks(p.Status.Name)
	i := m.tasks.selected(ts, m.tasks.match(ts))
	if i < 0 {
		return nil
	}
	return ts.At(i)
}

// anyPending reports whether a round trip is waiting for its reply: its
// row shows the time elapsed, so the pane is drawn again every second.
func anyPending(ts *ring.Ring[*state.Task]) bool {
	for i := ts.Len() - 1; i >= 0; i-- {
		if ts.At(i).Outcome == supervisor.OutcomePending {
			return true
		}
	}
	return false
}

// rttCell is the RTT column: the round trip's time when it has one, the
// time elapsed while it waits.
func rttCell(t *state.Task, now time.Time) string {
	switch {
	case t.Outcome == supervisor.OutcomeAnswered || (t.Outcome == supervisor.OutcomeError && t.RTT > 0):
		return render.Duration(t.RTT)
	case t.Outcome == supervisor.OutcomePending && !t.Sent.IsZero():
		return render.Age(max(now.Sub(t.Sent), 0))
	}
	return "-"
}
