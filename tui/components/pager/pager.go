// Package pager is a scrollable box over the console for text longer than the screen: the help and the message history.
package pager

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/tui/components/confirm"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/keys"
	"github.com/plugvisor/plugvisor/tui/render"
)

// Model is the scroll position of one pager; its lines are the caller's,
// built for the width they are shown at.
type Model struct {
	Off int // the first line shown
}

// Scroll moves by the movement keys of km (↑/k ↓/j, pgup/pgdn, g/G) over
// total lines of which page are shown. It reports whether k was one of
// them.
func (m *Model) Scroll(k tea.KeyPressMsg, km keys.KeyMap, total, page int) bool {
	page = max(page, 1)
	switch {
	case key.Matches(k, km.Up):
		m.Off--
	case key.Matches(k, km.Down):
		m.Off++
	case key.Matches(k, km.PageUp):
		m.Off -= page
	case key.Matches(k, km.PageDown):
		m.Off += page
	case key.Matches(k, km.Top):
		m.Off = 0
	case key.Matches(k, km.Bottom):
		m.Off = total
	default:
		return false
	}
	m.clamp(total, page)
	return true
}

// Move scrolls n lines (the mouse wheel) within total lines shown a page
// at a time.
func (m *Model) Move(n, total, page int) {
	page = max(page, 1)
	m.clamp(total, page) // Off may be past the end, meaning the last page
	m.Off += n
	m.clamp(total, page)
}

func (m *Model) clamp(total, page int) { m.Off = max(min(m.Off, total-page), 0) }

// Page is how many lines a box h rows high shows: the borders and the
// position line take three.
func Page(h int) int { return max(h-3, 1) }

// View draws lines in a box bw cells wide and at most h rows high, from
// the scroll position, with a last line saying where it is and how to move
// and close (closeHint: "? or esc closes").
func (m *Model) View(c *pvctx.Context, title string, lines []string, bw, h int, closeHint string) []string {
	page := Page(h)
	m.clamp(len(lines), page)
	end := min(m.Off+page, len(lines))
	shown := make([]string, 0, end-m.Off+1)
	shown = append(shown, lines[m.Off:end]...)
	pos := "all shown"
	if len(lines) > page {
		pos = fmt.Sprintf("%d–%d of %d · j/k pgup/pgdn g/G scroll", m.Off+1, end, len(lines))
	}
	inner := render.Inner(bw)
	shown = append(shown, c.Styles.Faint.Render(render.Cut(pos+" · "+closeHint, inner)))
	return confirm.Box(c, title, shown, bw)
}
