package tui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/tui/components/footer"
)

// Notice is a standing warning about the console's surroundings, such as
// its control socket: shown in the header for as long as the console runs
// (Header, short) and said in full in the flash line and the message
// history (Full).
type Notice struct {
	Header, Full string
}

type noticeMsg struct{ n Notice }

// watchNotice waits for Options.Notice's one notice, if any.
func (m *Model) watchNotice() tea.Cmd {
	ch, stop := m.opts.Notice, m.feed.stop
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		select {
		case n, ok := <-ch:
			if ok {
				return noticeMsg{n}
			}
		case <-stop:
		}
		return nil
	}
}

// showNotice keeps the notice in the header and says it in full; the
// flash does not expire, so it stays until another replaces it.
func (m *Model) showNotice(n Notice) {
	m.notice = n.Header
	m.footer.Set(footer.Warn, n.Full)
}
