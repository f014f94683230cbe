// Package footer is the bottom of the console: context-sensitive key help and a flash line for the outcome of actions.
package footer

import (
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"

	"github.com/plugvisor/plugvisor/internal/ring"

	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
)

// Height is how many lines the footer takes.
const Height = 2

// Level says how a flash message is drawn.
type Level int

// Flash levels.
const (
	Info Level = iota
	OK
	Warn
	Error
)

// Flash is one message about an action: "starting echo…", then its outcome.
type Flash struct {
	ID    int // a newer flash replaces an older one; expiry names the one it clears
	Level Level
	Text  string
}

// Model is the footer's state: the help bubble and the current flash.
type Model struct {
	Help  help.Model
	Flash Flash
	Clock func() time.Time // stamps the history; nil is time.Now
	next  int

	history *ring.Ring[Message] // every flash, in full, bounded (history.go)
	wrapped historyCache        // history drawn for the m overlay (history.go)
}

// New makes a footer styled by c.
func New(c *pvctx.Context) Model {
	m := Model{Help: help.New()}
	m.Restyle(c)
	return m
}

// Restyle applies the theme to the help bubble.
func (m *Model) Restyle(c *pvctx.Context) {
	st := c.Styles
	m.Help.Styles = help.Styles{
		ShortKey: st.KeyHint, ShortDesc: st.KeyDesc, ShortSeparator: st.KeySep, Ellipsis: st.KeySep,
		FullKey: st.KeyHint, FullDesc: st.KeyDesc, FullSeparator: st.KeySep,
	}
}

// Set shows a flash message and returns its id, for expiring it later.
func (m *Model) Set(level Level, text string) int {
	m.next++
	m.Flash = Flash{ID: m.next, Level: level, Text: text}
	m.remember(level, text)
	return m.next
}

// Expire clears the flash if it is still the one with this id.
func (m *Model) Expire(id int) bool {
	if m.Flash.ID != id || m.Flash.Text == "" {
		return false
	}
	m.Flash = Flash{ID: id}
	return true
}

// View draws the help line (for keys) and the flash line, w cells wide.
func (m *Model) View(c *pvctx.Context, keys help.KeyMap, w int) string {
	return render.Fit(m.hints(keys.ShortHelp(), w), w) + "\n" + m.FlashLine(c, w)
}

// FlashLine draws only the flash line, for when an input takes the help
// line. A message too long for it is cut with a pointer to the history,
// which holds it whole.
func (m *Model) FlashLine(c *pvctx.Context, w int) string {
	f := m.Flash
	if f.Text == "" {
		return render.Fit("", w)
	}
	text := symbol(f.Level) + " " + render.Sanitize(f.Text)
	if render.Width(text) > w && w > len(cutHint)+8 {
		text = render.Cut(text, w-len(cutHint)) + cutHint
	}
	return render.Fit(levelStyle(c, f.Level).Render(text), w)
}

// cutHint ends a flash line cut short.
const cutHint = " (m: full message)"

func symbol(l Level) string {
	switch l {
	case OK:
		return "✔"
	case Warn:
		return "⚠"
	case Error:
		return "✖"
	}
	return "›"
}

func levelStyle(c *pvctx.Context, l Level) lipgloss.Style {
	st := c.Styles
	switch l {
	case OK:
		return st.OK
	case Warn:
		return st.Warn
	case Error:
		return st.Error
	}
	return st.Accent
}
