package tui

import (
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// What the console asks of the terminal beyond its frames goes out at once
// where Run paints it (Options.emit, package screen); elsewhere (tests on
// Bubble Tea's own renderer) through Bubble Tea's queue, which its ticker
// flushes.

// setClipboard sets the terminal's clipboard to text (OSC 52).
func (m *Model) setClipboard(text string) tea.Cmd {
	if m.opts.emit == nil {
		return tea.SetClipboard(text)
	}
	emit := m.opts.emit
	return func() tea.Msg {
		if !emit(ansi.SetSystemClipboard(text)) {
			return copyDroppedMsg{}
		}
		return nil
	}
}

// copyDroppedMsg says a copy never reached the terminal: it had stopped
// taking output, or too much was already waiting for it.
type copyDroppedMsg struct{}

// requestBackground asks the terminal for its background colour; the
// answer comes back as a tea.BackgroundColorMsg.
func (m *Model) requestBackground() tea.Cmd {
	if m.opts.emit == nil {
		return tea.RequestBackgroundColor
	}
	emit := m.opts.emit
	return func() tea.Msg { emit(ansi.RequestBackgroundColor); return nil } // unanswered, the theme stays
}
