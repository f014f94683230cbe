package tui

import "slices"

// selectFirst selects Options.Select once it appears (the demo starts on a
// plugin whose log pane has lines), unless the operator moved first.
func (m *Model) selectFirst() {
	if m.firstDone || m.opts.Select == "" {
		return
	}
	order := m.store.Order()
	if m.table.Cursor() != 0 { // the operator has moved already
		m.firstDone = true
		return
	}
	if i := slices.Index(order, m.opts.Select); i >= 0 {
		m.firstDone = true
		m.table.Select(order, i)
		m.detail.Show(m.table.Selected)
	}
}
