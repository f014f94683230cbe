package tui

import (
	"time"

	tea "charm.land/bubbletea/v2"
)

// The panes draw with the clock of the last snapshot, so an uptime and
// its state agree. Attached to a slow server a snapshot can take up to
// snapshotTimeout, and the ages on screen would freeze that long: while
// one has been outstanding for a second, the clock moves on a 1 s tick.

// staleTickMsg is the tick of snapshot gen.
type staleTickMsg struct{ gen uint64 }

// snapshotIssued starts the tick for the snapshot just taken; an older
// snapshot's tick, when it comes, finds a newer generation and stops.
func (m *Model) snapshotIssued() tea.Cmd {
	m.snapGen++
	return staleTick(m.snapGen)
}

func staleTick(gen uint64) tea.Cmd {
	return tea.Tick(snapshotInterval, func(time.Time) tea.Msg { return staleTickMsg{gen} })
}

// staleTicked moves the clock while snapshot gen is still outstanding.
func (m *Model) staleTicked(msg staleTickMsg) tea.Cmd {
	if msg.gen != m.snapGen || !m.snapInFlight || m.lost {
		return nil
	}
	m.clock = m.opts.now()
	return staleTick(msg.gen)
}
