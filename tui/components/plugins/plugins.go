// Package plugins is the table of plugin instances: one row each, a cursor, marks, a filter, a sort, and the columns that fit.
package plugins

import (
	"strings"
	"time"

	"charm.land/lipgloss/v2"

	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// Model is the table: the rows it shows, its cursor among them, its marks.
// Selection follows the instance id, so rows appearing, disappearing or
// moving (a reload, the filter, the sort) do not move it to another plugin.
// Until the operator chooses a row it stays on the first: rows arrive in
// the order their plugins' events happen to, and the console must open on
// the same row every time.
type Model struct {
	Selected string // instance id
	chosen   bool   // the operator (or a command) picked Selected
	cursor   int    // index of Selected in rows.ids
	offset   int    // first row shown
	shown    int    // rows the pane showed last, for paging and the mouse

	rows   view
	filter string
	sort   sortBy
	marks  map[string]bool
	input  *filterInput // the filter being typed, if open
	hosts  bool         // some instance names its host: the HOST column is shown
	rev    uint64       // bumped whenever what the pane draws apart from the store changes
}

// Sync brings the rows up to date with the store, the filter and the sort,
// and re-finds the selected instance among them.
func (m *Model) Sync(s *state.Store, now time.Time) {
	m.refresh(s, now)
	ids := m.rows.ids
	if !m.chosen {
		m.cursor, m.Selected = 0, ""
		if len(ids) > 0 {
			m.Selected = ids[0]
		}
		return
	}
	for i, id := range ids {
		if id == m.Selected {
			m.cursor = i
			return
		}
	}
	m.cursor = min(m.cursor, max(len(ids)-1, 0))
	m.Selected = ""
	if len(ids) > 0 {
		m.Selected = ids[m.cursor]
	}
}

// Rows are the instance ids shown, in order, as of the last Sync.
func (m *Model) Rows() []string { return m.rows.ids }

// Rev changes whenever the pane would draw differently for a reason other
// than the store: rows, marks, filter or sort.
func (m *Model) Rev() uint64 { return m.rev }

// Choose keeps the row now selected, as if the operator had picked it: a
// command that acts on it must not see the cursor move away.
func (m *Model) Choose() { m.chosen = m.Selected != "" }

// Cursor is the selected row's index among the rows shown.
func (m *Model) Cursor() int { return m.cursor }

// Select selects the instance order[i] (clamped), whatever order the caller
// counts in. An instance the filter hides is shown by clearing the filter:
// a command aimed at it must show what it acts on.
func (m *Model) Select(order []string, i int) {
	if len(order) == 0 {
		return
	}
	id := order[min(max(i, 0), len(order)-1)]
	m.Selected, m.chosen = id, true
	for j, r := range m.rows.ids {
		if r == id {
			m.cursor = j
			return
		}
	}
	m.SetFilter("")
}

// SelectRow moves the cursor to row i of the rows shown (clamped).
func (m *Model) SelectRow(i int) { m.Select(m.rows.ids, i) }

// Move moves the cursor by delta rows.
func (m *Model) Move(delta int) { m.SelectRow(m.cursor + delta) }

// Top and Bottom select the first and last rows shown.
func (m *Model) Top()    { m.SelectRow(0) }
func (m *Model) Bottom() { m.SelectRow(len(m.rows.ids) - 1) }

// Height is the pane height that shows n rows: border, header and rows.
func Height(n int) int { return n + 3 }

// RowAt maps a line of the pane (0 is its top border) to a row index, as
// the pane was last drawn.
func (m *Model) RowAt(y int) (int, bool) {
	i := m.offset + y - 2
	if y < 2 || i >= len(m.rows.ids) || y-2 >= m.shown {
		return 0, false
	}
	return i, true
}

// place keeps the cursor among the visible rows and never leaves space
// below the last row while rows are scrolled out above: the pane may have
// grown, or the rows shrunk, since the offset was set.
func (m *Model) place(visible, n int) {
	m.offset = min(m.offset, max(n-visible, 0))
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
	e := &env{now: c.Now(), hbTimeout: s.Info.HeartbeatTimeout}
	m.Sync(s, e.now)
	ids := m.rows.ids
	visible := max(h-3, 0)
	m.place(visible, len(ids))
	m.shown = visible
	cols := fit(shownColumns(s), render.Inner(w))

	lines := make([]string, 0, visible+1)
	lines = append(lines, st.Faint.Bold(true).Render(m.header(cols)))
	for i := m.offset; i < len(ids) && i < m.offset+visible; i++ {
		lines = append(lines, m.row(c, s.Plugin(ids[i]), cols, e, i == m.cursor, focused, render.Inner(w)))
	}
	switch {
	case s.Len() == 0:
		lines = append(lines, st.Faint.Render("no plugins configured"))
	case len(ids) == 0:
		lines = append(lines, st.Faint.Render("no plugin matches the filter (esc clears it)"))
	}
	border := st.Border
	if focused {
		border = st.FocusBorder
	}
	return render.Frame(border, m.title(c, s, cols), lines, w, h)
}

// title names the pane and says how many rows it shows of how many, the
// filter, the marks, and a sort by a column too narrow to be shown.
func (m *Model) title(c *pvctx.Context, s *state.Store, cols []column) string {
	st := c.Styles
	t := st.Title.Render("Plugins")
	if m.filter != "" {
		t += st.Accent.Render(" /"+render.Sanitize(m.filter)) + st.Faint.Render(" "+itoa(len(m.rows.ids))+"/"+itoa(s.Len()))
	} else {
		t += st.Faint.Render(" " + itoa(s.Len()))
	}
	if n := len(m.marks); n > 0 {
		t += st.Accent.Render(" · " + itoa(n) + " marked")
	}
	name := columns(0)[m.by().col].title
	if !hasColumn(cols, name) {
		t += st.Faint.Render(" · by " + name + m.arrow())
	}
	return t
}

func hasColumn(cols []column, title string) bool {
	for _, c := range cols {
		if c.title == title {
			return true
		}
	}
	return false
}

func (m *Model) arrow() string {
	if m.by().desc {
		return "▼"
	}
	return "▲"
}

// header is the column titles, the sorted one with its direction.
func (m *Model) header(cols []column) string {
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", markWidth))
	sorted := columns(0)[m.by().col].title
	for i, col := range cols {
		if i > 0 {
			b.WriteByte(' ')
		}
		title := col.title
		if title == sorted {
			title = title[:min(len(title), col.width-1)] + m.arrow()
		}
		if col.right {
			b.WriteString(render.FitRight(title, col.width))
		} else {
			b.WriteString(render.Fit(title, col.width))
		}
	}
	return b.String()
}

// run is a piece of a row drawn in one style.
type run struct {
	text  string
	style lipgloss.Style
}

// row draws one instance. Alarming rows (failed, backoff, exited) are drawn
// whole in their state's style so they stand out in a long table; a late
// heartbeat is drawn in warning colours.
func (m *Model) row(c *pvctx.Context, p *state.Plugin, cols []column, e *env, selected, focused bool, w int) string {
	st := c.Styles
	if selected {
		sel := st.SelectedFaint
		if focused {
			sel = st.Selected
		}
		// One style for the whole line: a selected row is read as a unit.
		var b strings.Builder
		for _, r := range m.cells(c, p, cols, e) {
			b.WriteString(r.text)
		}
		return sel.Render(render.Fit(b.String(), w))
	}
	// A few styled runs per row rather than one per cell: Render is the
	// expensive part of a row.
	var b strings.Builder
	for _, r := range m.cells(c, p, cols, e) {
		b.WriteString(r.style.Render(r.text))
	}
	return b.String()
}

// cells draws a row as runs of text: the mark, the cells before the state,
// the state, and the rest, with a late heartbeat apart.
func (m *Model) cells(c *pvctx.Context, p *state.Plugin, cols []column, e *env) []run {
	st := c.Styles
	text := st.Text
	stateStyle := st.State(p.Status.State)
	if pvctx.Alarming(p.Status.State) {
		text = stateStyle
	}
	gone := unreachable(p.Status, e.now)
	if gone != "" {
		// Its host stopped answering: the row is its last known state,
		// drawn faint whatever the state, beside the HOST cell's ⚠.
		text, stateStyle = st.Faint, st.Faint
	}
	mark := run{"  ", text}
	if m.marks[p.Status.Instance] {
		mark = run{"✓ ", st.Accent}
	}
	runs := []run{mark}
	var b strings.Builder
	flush := func(style lipgloss.Style) {
		if b.Len() > 0 {
			runs = append(runs, run{b.String(), style})
			b.Reset()
		}
	}
	for i := 0; i < len(cols); i++ {
		col := cols[i]
		if i > 0 {
			b.WriteByte(' ')
		}
		if gone != "" && stale[col.title] {
			b.WriteString(goneCell(gone, cols[i:]))
			break
		}
		switch col.title {
		case "STATE":
			flush(text)
			var cell string
			cell, i = spill(col, cols, i, p, e)
			runs = append(runs, run{cell, stateStyle})
		case "HEARTBEAT":
			if l := beatLateness(p, e); l != onTime && gone == "" {
				flush(text)
				style := st.Warn
				if l == nearlyHung {
					style = st.Error
				}
				runs = append(runs, run{cellText(col, p, e), style})
				continue
			}
			b.WriteString(cellText(col, p, e))
		default:
			b.WriteString(cellText(col, p, e))
		}
	}
	flush(text)
	return runs
}

// goneCell is the words for an unreachable host over cols, the row's
// last columns: in full where they fit, else when the host was last seen
// (the HOST cell's ⚠ says the rest), cut if even that does not fit. The
// figures those columns would show are its host's last, so they are never
// drawn as if they were live.
func goneCell(words string, cols []column) string {
	w := -1
	for _, c := range cols {
		w += c.width + 1
	}
	if render.Width(words) > w {
		words = strings.TrimPrefix(words, unreachablePrefix)
	}
	return render.Fit(words, w)
}

// spill draws the state cell, widened over the columns after it that
// show only a dash (an instance in backoff has no pid nor uptime) when
// its text is longer than the column: the restart countdown then shows at
// every width. It returns the index of the last column it took.
func spill(col column, cols []column, i int, p *state.Plugin, e *env) (string, int) {
	v := render.Sanitize(col.cell(p, e))
	w := col.width
	for render.Width(v) > w && i+1 < len(cols) && cols[i+1].cell(p, e) == dash {
		i++
		w += cols[i].width + 1
	}
	if render.Width(v) > w && i == len(cols)-1 {
		return v, i // the last column: the frame cuts what does not fit
	}
	return render.Fit(v, w), i
}

func cellText(col column, p *state.Plugin, e *env) string {
	v := render.Sanitize(col.cell(p, e))
	if col.right {
		return render.FitRight(v, col.width)
	}
	return render.Fit(v, col.width)
}

func itoa(n int) string { return render.Count(uint64(n)) }

// WidthWithin is the narrowest pane width showing every column that fits
// in a pane limit cells wide.
func WidthWithin(s *state.Store, limit int) int {
	total := markWidth - 1
	for _, c := range fit(shownColumns(s), render.Inner(limit)) {
		total += c.width + 1
	}
	return total + 4
}

// nameWidth fits the names as the NAME column draws them: without their
// host, which the HOST column shows.
func nameWidth(s *state.Store) int {
	w := 8
	for _, id := range s.Order() {
		w = max(w, min(len(localName(s.Plugin(id).Status)), 24))
	}
	return w
}
