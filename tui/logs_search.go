package tui

import tea "charm.land/bubbletea/v2"

// A new logs search is matched a slice at a time (detail.SearchStep): each
// slice is one message, so keys and frames go on between slices.

// searchStepMsg asks for the next slice of the logs search.
type searchStepMsg struct{}

// searchCmd queues the next slice while the search has lines left to
// match; one is queued at a time.
func (m *Model) searchCmd() tea.Cmd {
	if m.searchQueued || !m.detail.Searching(m.store) {
		return nil
	}
	m.searchQueued = true
	return func() tea.Msg { return searchStepMsg{} }
}

func (m *Model) searchStep() {
	m.searchQueued = false
	m.detail.SearchStep(m.store)
}
