package footer

import (
	"strconv"
	"strings"
	"time"

	"github.com/plugvisor/plugvisor/internal/ring"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
)

// Bounds of the message history: what the flash line said, in full, for
// the m overlay. A reload error can run to pages (every plugin's problem),
// so one message is cut past MaxMessageBytes, and the history keeps the
// newest within MaxHistory messages and MaxHistoryBytes.
const (
	MaxHistory      = 200
	MaxHistoryBytes = 256 << 10
	MaxMessageBytes = 32 << 10
)

// Message is one flash message as it was said.
type Message struct {
	At    time.Time
	Level Level
	Text  string
}

func newHistory() *ring.Ring[Message] {
	return ring.New(MaxHistory, ring.WithBudget(MaxHistoryBytes, func(m Message) int64 { return int64(len(m.Text)) + 32 }))
}

// remember keeps text in the history, cut to MaxMessageBytes.
func (m *Model) remember(level Level, text string) {
	if m.history == nil {
		m.history = newHistory()
	}
	if len(text) > MaxMessageBytes {
		more := len(text) - MaxMessageBytes
		text = render.Head(text, MaxMessageBytes) + " … (" + render.Bytes(int64(more)) + " more not kept)"
	}
	if n := m.history.Len(); n > 0 {
		if last := m.history.Ptr(n - 1); last.Level == level && last.Text == text {
			return // said again (a loss re-shown after each flash): once is enough
		}
	}
	now := time.Now
	if m.Clock != nil {
		now = m.Clock
	}
	m.history.Push(Message{At: now(), Level: level, Text: text})
}

// History is the messages kept, oldest first.
func (m *Model) History() []Message {
	if m.history == nil {
		return nil
	}
	return m.history.Last(m.history.Len())
}

// HistoryLen is how many messages are kept, and how many were said in all.
func (m *Model) HistoryLen() (kept int, total uint64) {
	if m.history == nil {
		return 0, 0
	}
	return m.history.Len(), m.history.Total()
}

// HistoryLines draws the kept messages for a w-cell box, each whole: its
// time, symbol and text, wrapped under it with a small indent, so that a
// long word such as a sha256 stays on one line wherever it can.
// The lines are kept until a message is said, the width or the theme
// changes: the overlay asks on every frame and key, and wrapping 200
// messages of up to 32 KiB costs tens of milliseconds. Callers must not
// change the slice.
func (m *Model) HistoryLines(c *pvctx.Context, w int) []string {
	_, total := m.HistoryLen()
	key := historyKey{total: total, w: w, themeRev: c.ThemeRev}
	if m.wrapped.lines == nil || m.wrapped.key != key {
		m.wrapped = historyCache{key: key, lines: m.historyLines(c, w)}
	}
	return m.wrapped.lines
}

// historyCache is HistoryLines' last answer and what it was for.
type historyCache struct {
	key   historyKey
	lines []string
}

type historyKey struct {
	total       uint64
	w, themeRev int
}

func (m *Model) historyLines(c *pvctx.Context, w int) []string {
	st := c.Styles
	const indent = "  "
	var out []string
	for _, msg := range m.History() {
		style := levelStyle(c, msg.Level)
		text := msg.At.Format("15:04:05") + " " + symbol(msg.Level) + " " + msg.Text
		width := max(w-len(indent), 8)
		for i, para := range strings.Split(text, "\n") {
			for j, l := range render.WrapWords(render.Sanitize(para), width) {
				lead := indent
				if i == 0 && j == 0 {
					lead = ""
				}
				out = append(out, lead+style.Render(l))
			}
		}
	}
	if len(out) == 0 {
		out = append(out, st.Faint.Render("no messages yet"))
	}
	if kept, total := m.HistoryLen(); total > uint64(kept) {
		out = append([]string{st.Faint.Render(strconv.FormatUint(total-uint64(kept), 10) + " older messages not kept")}, out...)
	}
	return out
}
