package tui

import (
	"time"

	tea "charm.land/bubbletea/v2"
)

// An operator watching the console sees the table, the header and every
// age move each second. Nobody watches a console that has had no key,
// click, paste or resize for unattendedAfter: it then takes its snapshot every
// unattendedInterval, as k9s refreshes, and each second's frame it does
// not paint is most of what an idle console costs (BenchmarkIdle). Log
// lines, records and state changes still show as they come; the first
// input takes a snapshot at once and brings the 1 s cycle back.
const (
	unattendedAfter    = 10 * time.Second
	unattendedInterval = 2 * time.Second
)

// snapshotEvery is the snapshot cycle's period as of now.
func (m *Model) snapshotEvery() time.Duration {
	if m.unattended() {
		return unattendedInterval
	}
	return snapshotInterval
}

// unattended says whether no input has come for unattendedAfter. It goes by
// the machine's clock, not the panes' (Options.now), since it is about the
// operator.
func (m *Model) unattended() bool { return time.Since(m.lastInput) >= unattendedAfter }

// touched notes an input (a resize too: the operator is there). An unattended console's table may be up to
// unattendedInterval old: it takes a snapshot now, which restarts the
// cycle at snapshotInterval.
func (m *Model) touched(msg tea.Msg) tea.Cmd {
	switch msg.(type) {
	case tea.KeyPressMsg, tea.PasteMsg, tea.MouseClickMsg, tea.MouseWheelMsg, tea.WindowSizeMsg:
	default:
		return nil
	}
	was := m.unattended()
	m.lastInput = time.Now()
	if !was || m.snapInFlight || m.lost {
		return nil
	}
	return m.snapshotCmd()
}
