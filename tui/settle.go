package tui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/tui/components/detail"
)

// settle runs after every message, whatever handled it (a key, a click, a
// command line): the rules that hold across them.
func (m *Model) settle() tea.Cmd {
	if m.detail.Tab != detail.TabLogs {
		m.logsFull = false // fullscreen is the Logs tab's: leaving it leaves fullscreen
	}
	return m.searchCmd()
}
