package tui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/tui/components/pager"
	"github.com/plugvisor/plugvisor/tui/render"
)

// The m overlay: every flash message kept (footer's history), each in
// full and wrapped, newest at the bottom, where it opens. Flash lines are
// cut to the terminal; a reload error or a long reason is read here.

const messagesCloseHint = "m or esc closes"

// openMessages shows the history scrolled to the newest message.
func (m *Model) openMessages() {
	m.showMessages = true
	m.msgPage = pager.Model{Off: 1 << 30} // clamped to the last page when drawn
}

func (m *Model) messagesWidth() int { return max(m.c.Width-2, 10) }

// messagesBox is the overlay for a terminal w cells wide.
func (m *Model) messagesBox(int) []string {
	bw := m.messagesWidth()
	lines := m.footer.HistoryLines(m.c, render.Inner(bw))
	kept, _ := m.footer.HistoryLen()
	title := m.c.Styles.Title.Render(fmt.Sprintf("Messages %d", kept))
	return m.msgPage.View(m.c, title, lines, bw, m.overlayHeight(), messagesCloseHint)
}

// messagesKey scrolls the history or closes it.
func (m *Model) messagesKey(k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "m", "esc", "q", "enter":
		m.showMessages = false
		return nil
	case "ctrl+c": // quits from every overlay
		m.showMessages = false
		return m.quit()
	}
	lines := m.footer.HistoryLines(m.c, render.Inner(m.messagesWidth()))
	m.msgPage.Scroll(k, m.c.Keys, len(lines), pager.Page(m.overlayHeight()))
	return nil
}

// overlayWheel scrolls the open help or messages overlay n lines: the
// wheel over an overlay moves it, not the panes underneath.
func (m *Model) overlayWheel(n int) {
	page := pager.Page(m.overlayHeight())
	if m.showHelp {
		bw := max(min(m.c.Width-2, 100), 10)
		m.helpPage.Move(n, len(m.helpLines(render.Inner(bw))), page)
		return
	}
	m.msgPage.Move(n, len(m.footer.HistoryLines(m.c, render.Inner(m.messagesWidth()))), page)
}
