package ctl

import (
	"io"

	"github.com/plugvisor/plugvisor/internal/termtext"
)

// Text a plugin controls (its output, its records, its error texts) reaches
// the operator's terminal through ctl, and a terminal acts on some of what
// it is sent instead of showing it: ESC starts sequences that recolour,
// retitle, move the cursor, even answer back. So human output shows such
// characters as Go escapes (\x1b, \r, \u009b); --json output is left
// alone, as JSON has escapes of its own (and \x ones would make it
// invalid).

// printable escapes C0 control characters but tab (newline among them, so
// one value stays on one line), DEL, C1 control characters and bytes that
// are not UTF-8.
func printable(s string) string { return termtext.Escape(s, false) }

// terminalSafe writes human output, escaping control characters other than
// newlines and tabs in whatever passes through (see printable), so nothing
// a plugin wrote gets to drive the terminal however it is printed.
type terminalSafe struct{ w io.Writer }

func (t terminalSafe) Write(p []byte) (int, error) {
	s := termtext.Escape(string(p), true)
	if _, err := io.WriteString(t.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}
