package cmdline

import "github.com/plugvisor/plugvisor/internal/clip"

// History bounds: the entries kept and the bytes of one.
const (
	MaxHistory     = 200
	MaxHistoryLine = 1024
)

// History is the command lines run, oldest first, bounded; ↑ and ↓ walk it
// from the newest. A line run twice in a row is kept once.
type History struct {
	lines []string
	rev   int
}

// NewHistory starts a history from lines saved earlier (oldest first),
// keeping the newest that fit the bounds.
func NewHistory(lines []string) *History {
	h := &History{}
	for _, l := range lines {
		h.add(l)
	}
	return h
}

// Lines are the entries, oldest first.
func (h *History) Lines() []string { return h.lines }

// Rev changes with every entry added.
func (h *History) Rev() int { return h.rev }

// Add keeps a line run.
func (h *History) Add(line string) {
	if h.add(line) {
		h.rev++
	}
}

func (h *History) add(line string) bool {
	line = clip.Head(line, MaxHistoryLine)
	if line == "" || (len(h.lines) > 0 && h.lines[len(h.lines)-1] == line) {
		return false
	}
	if len(h.lines) >= MaxHistory {
		h.lines = append(h.lines[:0], h.lines[len(h.lines)-MaxHistory+1:]...)
	}
	h.lines = append(h.lines, line)
	return true
}

// walk is a position in the history while the command line is open: n
// entries back from the newest (0: the line being typed, kept as draft).
type walk struct {
	n     int
	draft string
}

// step moves back (d > 0, older) or forward and returns the line to show.
func (w *walk) step(h *History, current string, d int) (string, bool) {
	if h == nil {
		return "", false
	}
	n := min(max(w.n+d, 0), len(h.lines))
	if n == w.n {
		return "", false
	}
	if w.n == 0 {
		w.draft = current
	}
	w.n = n
	if n == 0 {
		return w.draft, true
	}
	return h.lines[len(h.lines)-n], true
}
