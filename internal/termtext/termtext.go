// Package termtext makes text a plugin controls safe to put on a terminal.
// A terminal acts on some of what it is sent instead of showing it: ESC
// starts sequences that recolour, retitle, move the cursor, even answer
// back, and C1 controls do the same on some terminals. The console and ctl
// share one definition of those characters; the console blanks them, as it
// draws into cells, while ctl shows them escaped, as its output is read and
// copied by people.
package termtext

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// control reports whether a terminal may act on r: C0 controls (tab and
// newline among them; callers decide about those), DEL and C1 controls.
func control(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// Escape shows control characters but tab, and bytes that are not UTF-8, as
// Go escapes (\x1b, \r, \u009b, \xff), so nothing in s drives the terminal
// and a value stays on one line. Newlines are kept if keepNewlines.
func Escape(s string, keepNewlines bool) string {
	unsafe := func(r rune) bool {
		return control(r) && r != '\t' && (r != '\n' || !keepNewlines)
	}
	if strings.IndexFunc(s, func(r rune) bool { return unsafe(r) || r == utf8.RuneError }) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])|0x100, 16)[1:]) // two hex digits
		case unsafe(r):
			q := strconv.QuoteRune(r) // '\x1b', '\n', '\u009b'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Blank makes s safe to draw in cells: escape sequences are dropped, a tab
// becomes four spaces and any other control character or invalid byte one
// space, so every character left takes the cells its width says.
func Blank(s string) string {
	if plainASCII(s) {
		return s
	}
	if strings.IndexByte(s, 0x1b) >= 0 {
		s = ansi.Strip(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteString("    ")
		case control(r) || r == utf8.RuneError:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}
