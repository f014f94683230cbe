package ctl

import (
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
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
func printable(s string) string { return escapeControls(s, false) }

// escapeControls is printable, keeping newlines if keepNewlines.
func escapeControls(s string, keepNewlines bool) string {
	if strings.IndexFunc(s, func(r rune) bool { return unsafeRune(r, keepNewlines) || r == utf8.RuneError }) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])|0x100, 16)[1:]) // two hex digits
		case unsafeRune(r, keepNewlines):
			q := strconv.QuoteRune(r) // '\x1b', '\n', '\u009b'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func unsafeRune(r rune, keepNewlines bool) bool {
	switch {
	case r == '\t', r == '\n' && keepNewlines:
		return false
	case r < 0x20, r == 0x7f:
		return true
	}
	return r >= 0x80 && r < 0xa0
}

// terminalSafe writes human output, escaping control characters other than
// newlines and tabs in whatever passes through (see printable), so nothing
// a plugin wrote gets to drive the terminal however it is printed.
type terminalSafe struct{ w io.Writer }

func (t terminalSafe) Write(p []byte) (int, error) {
	s := escapeControls(string(p), true)
	if _, err := io.WriteString(t.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}
