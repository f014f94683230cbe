package plugins

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/tui/components/input"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
)

// filterInput is the filter being typed; the rows narrow as it changes.
type filterInput struct{ in input.Model }

// Filter is the filter applied to the rows.
func (m *Model) Filter() string { return m.filter }

// SetFilter filters the rows: instance ids (with their host), states and
// versions holding the filter's letters in order, or, for KEY=VALUE terms,
// the instances whose host and labels match them all (selector.go); a
// leading '!' keeps the others. It is cut to MaxFilter runes, however it
// was given (typed, or a command's argument).
func (m *Model) SetFilter(f string) {
	if r := []rune(f); len(r) > MaxFilter {
		f = string(r[:MaxFilter])
	}
	if f == m.filter {
		return
	}
	m.filter, m.rows.stale = f, true
	m.rev++
}

// ClearFilter drops the filter and reports whether there was one.
func (m *Model) ClearFilter() bool {
	if m.filter == "" {
		return false
	}
	m.SetFilter("")
	return true
}

// OpenFilter starts typing the filter, from the one applied.
func (m *Model) OpenFilter() {
	in := input.New("plugins /", "name, host, state or version; env=prod,role=edge by label; ! inverts · enter keeps · esc clears")
	in.Limit = MaxFilter
	in.SetValue(m.filter)
	in.Focus()
	m.input = &filterInput{in}
}

// Filtering reports whether the filter input has the keyboard.
func (m *Model) Filtering() bool { return m.input != nil }

// FilterMsg edits the filter: enter keeps it, esc clears it, and either
// closes the input.
func (m *Model) FilterMsg(msg tea.Msg) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "enter":
			m.input = nil
			return
		case "esc", "ctrl+c":
			m.input = nil
			m.SetFilter("")
			return
		}
	}
	if m.input.in.Update(msg) {
		m.SetFilter(m.input.in.Value())
	}
}

// FilterView draws the open filter input w cells wide.
func (m *Model) FilterView(c *pvctx.Context, w int) string {
	return m.input.in.View(c.Styles.InputStyles(true), w)
}

// NextSort orders the rows by the next column, ascending.
func (m *Model) NextSort() {
	next := (m.by().col + 1) % len(columns(0))
	if next == hostColumn && !m.hosts {
		next = 0 // not shown: no instance names a host
	}
	m.setSort(sortBy{col: next, set: true})
}

// FlipSort reverses the order.
func (m *Model) FlipSort() {
	b := m.by()
	m.setSort(sortBy{col: b.col, desc: !b.desc, set: true})
}

// SortBy orders the rows by the column titled col (any case); dir is
// "asc", "desc" or empty (ascending).
func (m *Model) SortBy(col, dir string) error {
	i, ok := columnIndex(col)
	if !ok {
		return fmt.Errorf("sort: no column %q (columns: %s)", col, strings.Join(ColumnTitles(), ", "))
	}
	switch strings.ToLower(dir) {
	case "", "asc":
		m.setSort(sortBy{col: i, set: true})
	case "desc":
		m.setSort(sortBy{col: i, desc: true, set: true})
	default:
		return fmt.Errorf("sort: direction is asc or desc, not %q", dir)
	}
	return nil
}

// Sort names the column the rows are ordered by, with its direction.
func (m *Model) Sort() string { return columns(0)[m.by().col].title + m.arrow() }

// by is the sort in effect: the one chosen, else by NAME, or over many
// hosts by HOST (ties by qualified instance: host, then name), so the
// header marks the column the default order follows.
func (m *Model) by() sortBy {
	if !m.sort.set && m.hosts {
		return sortBy{col: hostColumn}
	}
	return m.sort
}

func (m *Model) setSort(s sortBy) {
	m.sort, m.rows.stale = s, true
	m.rev++
}
