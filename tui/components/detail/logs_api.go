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
func (m *Model) SearchProblem() string { m.logs.parse(); return m.logs.q.invalid }

// Searching reports whether the logs search still has lines of the shown
// instance to match; SearchStep matches the next slice of them.
func (m *Model) Searching(s *state.Store) bool {
	p := s.Plugin(m.shown)
	if p == nil || m.Tab != TabLogs || m.logs.q.mode == modeNone || m.logs.hits == nil || m.logs.shown != p.Status.Instance {
		return false
	}
	return m.logs.hits.pending(p.Logs) > 0
}

// SearchStep matches the next slice of the logs search and redraws. When
// the scan ends with no current match, the view goes to the nearest one,
// as the search typed would have had the buffer been matched at once.
func (m *Model) SearchStep(s *state.Store) {
	p := s.Plugin(m.shown)
	if p == nil || m.Tab != TabLogs {
		return
	}
	m.rev++
	m.logs.prepare(p)
	if m.logs.jump && m.logs.hits.pending(p.Logs) == 0 {
		m.logs.findNearest(p)
	}
}

// ShownLogs is the instance the pane shows and its log lines that the logs
// filter lets through, oldest first: what saving the logs writes. A search
// (as opposed to a filter) hides nothing, so it keeps every line.
func (m *Model) ShownLogs(s *state.Store) (string, []supervisor.LogLine) {
	p := s.Plugin(m.shown)
	if p == nil {
		return m.shown, nil
	}
	m.logs.prepareBudget(p, 0) // saving writes every line that passes
	match := m.logs.match(p.Logs)
	var out []supervisor.LogLine
	for i := 0; i < p.Logs.Len(); i++ {
		if match(i) {
			out = append(out, p.Logs.At(i))
		}
	}
	return p.Status.Instance, out
}
