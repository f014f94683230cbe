package tui

import (
	"time"

	tea "charm.land/bubbletea/v2"
)

// The panes draw with the clock of the last snapshot, so an uptime and
// its state agree. Attached to a slow server a snapshot can take up to
// snapshotTimeout, and the ages on screen would freeze that long: while
// one has been outstanding for a second, the clock moves each second.
//
// The second is counted by the command waiting for the snapshot, on a
// timer it stops when the snapshot comes first: an idle console's
// snapshots take microseconds, and a tick of its own each second would be
// a wake-up and a frame for nothing.

// snapshotWaitMsg says a snapshot has been outstanding for a second; wait
// goes on waiting for it.
type snapshotWaitMsg struct{ wait tea.Cmd }

// awaitSnapshot returns a command that hands over the snapshot from
// result, or a snapshotWaitMsg if a second passes first.
func awaitSnapshot(result <-chan snapshotMsg) tea.Cmd {
	return func() tea.Msg {
		t := time.NewTimer(snapshotInterval)
		defer t.Stop()
		select {
		case msg := <-result:
			if msg.panicked != nil {
				panic(msg.panicked)
			}
			return msg
		case <-t.C:
			return snapshotWaitMsg{wait: awaitSnapshot(result)}
		}
	}
}

// snapshotWaited moves the clock while the snapshot is still outstanding,
// and goes on waiting: the snapshot, when it comes, is what ends the wait.
func (m *Model) snapshotWaited(msg snapshotWaitMsg) tea.Cmd {
	if !m.lost {
		m.clock = m.opts.now()
	}
	return msg.wait
}
