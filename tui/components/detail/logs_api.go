package detail

import (
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/tui/state"
)

// The Logs tab's search and export, for the root model's keys.

// FindNearest makes the match of the logs search nearest the view the
// current one and scrolls to it, as a search being typed does.
func (m *Model) FindNearest(s *state.Store) {
	if p := s.Plugin(m.shown); p != nil && m.Tab == TabLogs {
		m.rev++
		m.logs.findNearest(p)
	}
}

// FindStep goes to the next (dir 1, newer) or previous (dir -1) match of
// the logs search. It reports false when the Logs tab has no search to
// step through (a filter, or none).
func (m *Model) FindStep(s *state.Store, dir int) bool {
	p := s.Plugin(m.shown)
	if p == nil || m.Tab != TabLogs {
		return false
	}
	m.rev++
	return m.logs.findStep(p, dir)
}

// SearchProblem is what is wrong with the logs search typed ("" when
// nothing is), for the search input to say.
func (m *Model) SearchProblem() string { return parseSearch(m.logs.filter).invalid }

// ShownLogs is the instance the pane shows and its log lines that the logs
// filter lets through, oldest first: what saving the logs writes. A search
// (as opposed to a filter) hides nothing, so it keeps every line.
func (m *Model) ShownLogs(s *state.Store) (string, []supervisor.LogLine) {
	p := s.Plugin(m.shown)
	if p == nil {
		return m.shown, nil
	}
	m.logs.prepare(p)
	match := m.logs.match(p.Logs)
	var out []supervisor.LogLine
	for i := 0; i < p.Logs.Len(); i++ {
		if match(i) {
			out = append(out, p.Logs.At(i))
		}
	}
	return p.Status.Instance, out
}
