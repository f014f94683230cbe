// Package context holds what every pane shares: the terminal size, the theme's styles, the key map and the clock.
package context

import (
	"time"

	"charm.land/lipgloss/v2"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/themes"
	"github.com/plugvisor/plugvisor/tui/components/input"
	"github.com/plugvisor/plugvisor/tui/keys"
)

// Context is shared by the root model and its panes. The root owns it and
// changes it only in Update; panes read it while rendering.
type Context struct {
	Width, Height int
	Theme         themes.Theme
	Styles        Styles
	Keys          keys.KeyMap
	Now           func() time.Time
	// ThemeRev changes with every theme switch, so cached renders keyed on
	// it are redone in the new colours.
	ThemeRev int
}

// New makes a context with a theme and a clock.
func New(t themes.Theme, now func() time.Time) *Context {
	c := &Context{Keys: keys.Default(), Now: now}
	c.SetTheme(t)
	return c
}

// SetTheme switches the theme and rebuilds the styles.
func (c *Context) SetTheme(t themes.Theme) {
	c.Theme, c.Styles = t, NewStyles(t)
	c.ThemeRev++
}

// Styles are the theme's colours made into lipgloss styles once, so
// rendering never builds styles per cell.
type Styles struct {
	Text, Faint, Bold, Accent, Title lipgloss.Style
	Border, FocusBorder              lipgloss.Style
	Selected, SelectedFaint          lipgloss.Style // the selected row: focused, unfocused
	Highlight                        lipgloss.Style // filter matches
	TabActive, TabInactive           lipgloss.Style
	OK, Warn, Error                  lipgloss.Style // flash line
	Stdout, Stderr                   lipgloss.Style // log stream markers
	KeyHint, KeyDesc, KeySep         lipgloss.Style // help
	states                           map[supervisor.State]lipgloss.Style
}

// NewStyles builds the styles of a theme. Empty slots fall back to
// attributes (reverse, bold, underline) so a colourless theme stays usable.
func NewStyles(t themes.Theme) Styles {
	fg := func(c themes.Color) lipgloss.Style { return lipgloss.NewStyle().Foreground(c.Value()) }
	s := Styles{
		Text: fg(t.Text), Faint: fg(t.Faint), Bold: fg(t.Text).Bold(true),
		Accent: fg(t.Accent), Title: fg(t.Accent).Bold(true),
		Border: fg(t.Border), FocusBorder: fg(t.Accent),
		OK: fg(t.Running), Warn: fg(t.Backoff).Bold(true), Error: fg(t.Failed).Bold(true),
		Stdout: fg(t.Faint), Stderr: fg(t.Failed),
		KeyHint: fg(t.Accent), KeyDesc: fg(t.Faint), KeySep: fg(t.Border),
	}
	if t.Selection.IsSet() {
		s.Selected = lipgloss.NewStyle().Background(t.Selection.Value()).Foreground(t.SelectionText.Value()).Bold(true)
		s.SelectedFaint = lipgloss.NewStyle().Background(t.Border.Value()).Foreground(t.Text.Value())
	} else {
		s.Selected = lipgloss.NewStyle().Reverse(true).Bold(true)
		s.SelectedFaint = lipgloss.NewStyle().Reverse(true)
	}
	if t.Highlight.IsSet() {
		s.Highlight = lipgloss.NewStyle().Background(t.Highlight.Value()).Foreground(t.SelectionText.Value())
	} else {
		s.Highlight = lipgloss.NewStyle().Underline(true).Bold(true)
	}
	s.TabActive = s.Selected.Padding(0, 1)
	s.TabInactive = s.Faint.Padding(0, 1)
	s.states = map[supervisor.State]lipgloss.Style{
		supervisor.StateRunning:  fg(t.Running),
		supervisor.StateStarting: fg(t.Starting),
		supervisor.StateStopping: fg(t.Starting),
		supervisor.StateExited:   fg(t.Backoff).Bold(true),
		supervisor.StateBackoff:  fg(t.Backoff).Bold(true),
		supervisor.StateFailed:   fg(t.Failed).Bold(true),
		supervisor.StateStopped:  fg(t.Stopped),
	}
	return s
}

// State is the style of a state's symbol and word.
func (s Styles) State(st supervisor.State) lipgloss.Style {
	if v, ok := s.states[st]; ok {
		return v
	}
	return s.Text
}

// Exit is the style of a past run: one the kernel ended at a limit stands
// out, an OOM kill (memory_max) as an error, forks refused (pids_max) as a
// warning, since the plugin's own code did not choose that end.
func (s Styles) Exit(e supervisor.Exit) lipgloss.Style {
	switch e.Limit {
	case "":
		return s.Text
	case "memory_max":
		return s.Error
	}
	return s.Warn
}

// Symbol pairs each state with a shape, so states read without colour.
func Symbol(st supervisor.State) string {
	switch st {
	case supervisor.StateRunning:
		return "●"
	case supervisor.StateStarting:
		return "◐"
	case supervisor.StateStopping:
		return "◑"
	case supervisor.StateExited:
		return "○"
	case supervisor.StateBackoff:
		return "◌"
	case supervisor.StateFailed:
		return "✖"
	}
	return "■"
}

// Alarming reports states whose rows must stand out.
func Alarming(st supervisor.State) bool {
	return st == supervisor.StateFailed || st == supervisor.StateBackoff || st == supervisor.StateExited
}

// InputStyles are the styles of a text input in this theme. The cursor is
// reverse video, which every theme (even the colourless one) can show.
func (s Styles) InputStyles(focused bool) input.Styles {
	if !focused {
		return input.Styles{Prompt: s.Faint, Text: s.Faint, Placeholder: s.Faint, Cursor: s.Faint}
	}
	return input.Styles{Prompt: s.Accent, Text: s.Text, Placeholder: s.Faint, Cursor: s.Text.Reverse(true)}
}
