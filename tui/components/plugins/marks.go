package plugins

import "github.com/plugvisor/plugvisor/tui/state"

// ToggleMark marks the selected row, or unmarks it.
func (m *Model) ToggleMark() {
	if m.Selected == "" {
		return
	}
	if m.marks[m.Selected] {
		delete(m.marks, m.Selected)
	} else {
		if m.marks == nil {
			m.marks = map[string]bool{}
		}
		m.marks[m.Selected] = true
	}
	m.rev++
}

// MarkAll marks every row shown.
func (m *Model) MarkAll() {
	if m.marks == nil {
		m.marks = map[string]bool{}
	}
	for _, id := range m.rows.ids {
		m.marks[id] = true
	}
	m.rev++
}

// ClearMarks unmarks every row and reports whether any was marked.
func (m *Model) ClearMarks() bool {
	if len(m.marks) == 0 {
		return false
	}
	clear(m.marks)
	m.rev++
	return true
}

// Marked lists the marked instances in the store's order, shown or not:
// marks survive the filter.
func (m *Model) Marked(s *state.Store) []string {
	if len(m.marks) == 0 {
		return nil
	}
	var out []string
	for _, id := range s.Order() {
		if m.marks[id] {
			out = append(out, id)
		}
	}
	return out
}

// dropGoneMarks forgets the marks of instances no longer in the store.
func (m *Model) dropGoneMarks(s *state.Store) {
	for id := range m.marks {
		if s.Plugin(id) == nil {
			delete(m.marks, id)
		}
	}
}
