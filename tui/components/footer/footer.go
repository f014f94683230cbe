// Package footer is the bottom of the console: context-sensitive key help and a flash line for the outcome of actions.
package footer

import (
	"charm.land/bubbles/v2/help"

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
	next  int
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

// FlashLine draws only the flash line, for when an input takes the help line.
func (m *Model) FlashLine(c *pvctx.Context, w int) string { return render.Fit(m.flashText(c), w) }

func (m *Model) flashText(c *pvctx.Context) string {
	st := c.Styles
	f := m.Flash
	if f.Text == "" {
		return ""
	}
	text := render.Sanitize(f.Text)
	switch f.Level {
	case OK:
		return st.OK.Render("✔ " + text)
	case Warn:
		return st.Warn.Render("⚠ " + text)
	case Error:
		return st.Error.Render("✖ " + text)
	}
	return st.Accent.Render("› " + text)
}
