// Package plugins is the table of plugin instances: one row each, a cursor, and the columns that fit.
package plugins

import (
	"strings"
	"time"

	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// Model is the table's cursor. Selection follows the instance id, so rows
// appearing or disappearing (a reload) do not move it to another plugin.
// Until the operator chooses a row it stays on the first: rows arrive in
// the order their plugins' events happen to, and the console must open on
// the same row every time.
type Model struct {
	Selected string // instance id
	chosen   bool   // the operator (or a command) picked Selected
	cursor   int
	offset   int // first row shown
}

// Sync re-finds the selected instance in order after the rows changed.
func (m *Model) Sync(order []string) {
	if !m.chosen {
		m.cursor, m.Selected = 0, ""
		if len(order) > 0 {
			m.Selected = order[0]
		}
		return
	}
	for i, id := range order {
		if id == m.Selected {
			m.cursor = i
			return
		}
	}
	m.cursor = min(m.cursor, max(len(order)-1, 0))
	m.Selected = ""
	if len(order) > 0 {
		m.Selected = order[m.cursor]
	}
}

// Choose keeps the row now selected, as if the operator had picked it: a
// command that acts on it must not see the cursor move away.
func (m *Model) Choose() { m.chosen = m.Selected != "" }

// Cursor is the selected row's index.
func (m *Model) Cursor() int { return m.cursor }

// Select moves the cursor to row i (clamped).
func (m *Model) Select(order []string, i int) {
	if len(order) == 0 {
		return
	}
	m.cursor = min(max(i, 0), len(order)-1)
	m.Selected, m.chosen = order[m.cursor], true
}

// Move moves the cursor by delta rows.
func (m *Model) Move(order []string, delta int) { m.Select(order, m.cursor+delta) }

// Height is the pane height that shows n rows: border, header and rows.
func Height(n int) int { return n + 3 }

// RowAt maps a line of the pane (0 is its top border) to a row index.
func (m *Model) RowAt(y, rows int) (int, bool) {
	i := m.offset + y - 2
	if y < 2 || i >= rows {
		return 0, false
	}
	return i, true
}

// scroll keeps the cursor among the visible rows.
func (m *Model) scroll(visible int) {
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if visible > 0 && m.cursor >= m.offset+visible {
		m.offset = m.cursor - visible + 1
	}
	m.offset = max(m.offset, 0)
}

// View draws the pane w×h. It only touches the rows on screen, so 200
// plugins cost no more than 20.
func (m *Model) View(c *pvctx.Context, s *state.Store, w, h int, focused bool) string {
	st := c.Styles
	order := s.Order()
	visible := max(h-3, 0)
	m.scroll(visible)
	cols := fit(columns(nameWidth(order)), render.Inner(w))
	now := c.Now()

	lines := make([]string, 0, visible+1)
	lines = append(lines, st.Faint.Bold(true).Render(header(cols)))
	for i := m.offset; i < len(order) && i < m.offset+visible; i++ {
		lines = append(lines, m.row(c, s.Plugin(order[i]), cols, now, i == m.cursor, focused, render.Inner(w)))
	}
	if len(order) == 0 {
		lines = append(lines, st.Faint.Render("no plugins configured"))
	}
	border := st.Border
	if focused {
		border = st.FocusBorder
	}
	title := st.Title.Render("Plugins") + st.Faint.Render(" "+itoa(len(order)))
	return render.Frame(border, title, lines, w, h)
}

func header(cols []column) string {
	var b strings.Builder
	for i, col := range cols {
		if i > 0 {
			b.WriteByte(' ')
		}
		if col.right {
			b.WriteString(render.FitRight(col.title, col.width))
		} else {
			b.WriteString(render.Fit(col.title, col.width))
		}
	}
	return b.String()
}

// row draws one instance. Alarming rows (failed, backoff, exited) are drawn
// whole in their state's style so they stand out in a long table.
func (m *Model) row(c *pvctx.Context, p *state.Plugin, cols []column, now time.Time, selected, focused bool, w int) string {
	st := c.Styles
	stateStyle := st.State(p.Status.State)
	text := st.Text
	if pvctx.Alarming(p.Status.State) {
		text = stateStyle
	}
	if selected {
		sel := st.SelectedFaint
		if focused {
			sel = st.Selected
		}
		// One style for the whole line: a selected row is read as a unit.
		return sel.Render(render.Fit(plainRow(p, cols, now), w))
	}
	// Three styled runs per row (before the state, the state, after it)
	// rather than one per cell: Render is the expensive part of a row.
	before, stateText, after := cells(p, cols, now)
	return text.Render(before) + stateStyle.Render(stateText) + text.Render(after)
}

// cells draws a row as plain text split around the state column.
func cells(p *state.Plugin, cols []column, now time.Time) (before, stateText, after string) {
	var b strings.Builder
	for i, col := range cols {
		if col.cell == nil {
			before = b.String()
			if i > 0 {
				before += " "
			}
			b.Reset()
			stateText = render.Fit(stateCell(p.Status.State), col.width)
			continue
		}
		if i > 0 && (b.Len() > 0 || stateText != "") {
			b.WriteByte(' ')
		}
		b.WriteString(cellText(col, p, now))
	}
	return before, stateText, b.String()
}

func cellText(col column, p *state.Plugin, now time.Time) string {
	v := render.Sanitize(col.cell(p, now))
	if col.right {
		return render.FitRight(v, col.width)
	}
	return render.Fit(v, col.width)
}

func plainRow(p *state.Plugin, cols []column, now time.Time) string {
	before, stateText, after := cells(p, cols, now)
	return before + stateText + after
}

func itoa(n int) string { return render.Count(uint64(n)) }

// WidthWithin is the narrowest pane width showing every column that fits
// in a pane limit cells wide.
func WidthWithin(s *state.Store, limit int) int {
	total := -1
	for _, c := range fit(columns(nameWidth(s.Order())), render.Inner(limit)) {
		total += c.width + 1
	}
	return total + 4
}

func nameWidth(order []string) int {
	w := 8
	for _, id := range order {
		w = max(w, min(len(id), 24))
	}
	return w
}
