// Package describe is the full view of one plugin opened by d: its
// configuration, process, containment, exit history and counters, every
// value wrapped whole, scrolled with a cursor whose entry y copies.
package describe

import (
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"

	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// labelWidth is the label column; values wrap after it. At 80 columns
// that leaves 64 cells: a sha256 fits on one line.
const labelWidth = 12

// narrowIndent starts the lines of a value with a word too long for the
// value column (a digest, a path on a narrow terminal): it goes under its
// label, so the word stays on one line where it can.
const narrowIndent = 2

// Model is an open describe view of one instance.
type Model struct {
	ID     string
	cursor int // display line under the cursor
	scroll int // first display line shown

	// What the last View drew: each display line's entry, so a key
	// moves over what is on the screen and y copies that line's entry.
	entries []Entry
	owner   []int
	rows    int

	key   Key // of the picture kept, drawn again only when it changes
	drawn string
}

// New opens the view on instance id.
func New(id string) *Model { return &Model{ID: id} }

// Move moves the cursor n display lines (n < 0: up).
func (m *Model) Move(n int) { m.cursor += n; m.clamp() }

// Top and Bottom go to the first and last line.
func (m *Model) Top() { m.cursor = 0; m.clamp() }

// Bottom goes to the last line.
func (m *Model) Bottom() { m.cursor = len(m.owner) - 1; m.clamp() }

// Page is the number of lines one page moves.
func (m *Model) Page() int { return max(m.rows-1, 1) }

// Cursor is the display line under the cursor, for cache keys.
func (m *Model) Cursor() int { return m.cursor }

// Selected is the entry under the cursor: a value line copies its whole
// value, unwrapped; a section header copies its name.
func (m *Model) Selected() (Entry, bool) {
	if m.cursor < 0 || m.cursor >= len(m.owner) {
		return Entry{}, false
	}
	return m.entries[m.owner[m.cursor]], true
}

func (m *Model) clamp() {
	m.cursor = min(max(m.cursor, 0), max(len(m.owner)-1, 0))
	if m.cursor < m.scroll {
		m.scroll = m.cursor
	}
	if m.rows > 0 && m.cursor >= m.scroll+m.rows {
		m.scroll = m.cursor - m.rows + 1
	}
	m.scroll = min(max(m.scroll, 0), max(len(m.owner)-m.rows, 0))
}

// View draws the view w×h from the store.
func (m *Model) View(c *pvctx.Context, s *state.Store, w, h int) string {
	st := c.Styles
	p := s.Plugin(m.ID)
	iw := render.Inner(w)
	title := st.Title.Render("Describe ") + st.Accent.Render(m.ID)
	if p != nil {
		title += " " + st.State(p.Status.State).Render(pvctx.Symbol(p.Status.State)+" "+string(p.Status.State))
	}
	m.entries = Entries(s, m.ID, c.Now())
	lines := m.layout(c, iw)
	m.rows = max(h-3, 1)
	m.clamp()
	var out []string
	if p == nil {
		out = append(out, st.Warn.Render(m.ID+" is gone: it is no longer configured"))
	}
	end := min(m.scroll+m.rows, len(lines))
	for i := m.scroll; i < end; i++ {
		l := lines[i]
		if i == m.cursor {
			l = st.Selected.Render(render.Fit(ansi.Strip(l), iw))
		}
		out = append(out, l)
	}
	for len(out) < h-3 {
		out = append(out, "")
	}
	more := ""
	if end < len(lines) {
		more = " · more below"
	}
	out = append(out, st.Faint.Render(render.Cut("line "+strconv.Itoa(m.cursor+1)+"/"+strconv.Itoa(len(lines))+more+
		" · j/k pgup/pgdn scroll · y copies the value · esc/d/q closes", iw)))
	return render.Frame(st.FocusBorder, title, out, w, h)
}

// layout wraps every entry to w cells, its value hanging after its label,
// and records which entry each display line shows.
func (m *Model) layout(c *pvctx.Context, w int) []string {
	st := c.Styles
	m.owner = m.owner[:0]
	var lines []string
	for i, e := range m.entries {
		if e.Section {
			if i > 0 {
				lines = append(lines, "")
				m.owner = append(m.owner, i)
			}
			lines = append(lines, st.Title.Render(e.Label))
			m.owner = append(m.owner, i)
			continue
		}
		style := st.Text
		if e.Warn {
			style = st.Warn
		}
		lead := render.Fit(e.Label, labelWidth-1) + " "
		indent, vw := labelWidth, w-labelWidth
		if longestWord(e.Value) > vw {
			lines = append(lines, st.Faint.Render(e.Label))
			m.owner = append(m.owner, i)
			indent, vw = narrowIndent, w-narrowIndent
			lead = strings.Repeat(" ", indent)
		}
		for j, part := range render.WrapWords(e.Value, max(vw, 1)) {
			if j > 0 {
				lead = strings.Repeat(" ", indent)
			}
			lines = append(lines, st.Faint.Render(lead)+style.Render(part))
			m.owner = append(m.owner, i)
		}
	}
	return lines
}

// Key is what the view's picture depends on: the store's rows (statuses
// come with them), the clock's second (ages), the cursor.
type Key struct {
	W, H, ThemeRev, Cursor int
	ID                     string
	Rows                   uint64
	Sec                    int64
}

// Render is View drawn only when its key changed since the last call.
func (m *Model) Render(c *pvctx.Context, s *state.Store, w, h int) string {
	if k := m.Key(c, s, w, h); k != m.key || m.drawn == "" {
		m.drawn = m.View(c, s, w, h)
		m.key = m.Key(c, s, w, h) // View clamps the cursor
	}
	return m.drawn
}

// Key computes the cache key for a picture w×h.
func (m *Model) Key(c *pvctx.Context, s *state.Store, w, h int) Key {
	return Key{W: w, H: h, ThemeRev: c.ThemeRev, Cursor: m.cursor, ID: m.ID, Rows: s.RowsRev(), Sec: c.Now().Unix()}
}

// longestWord is the width of the widest space-separated word of s.
func longestWord(s string) int {
	n := 0
	for _, f := range strings.Fields(s) {
		n = max(n, render.Width(f))
	}
	return n
}
