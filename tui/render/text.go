// Package render holds the drawing helpers every pane shares: fitting text to cells, frames, highlights and human-readable units.
package render

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/plugvisor/plugvisor/internal/clip"
	"github.com/plugvisor/plugvisor/internal/termtext"
)

// Width is the number of cells s takes, escape sequences excluded.
func Width(s string) int {
	if isPlainASCII(s) {
		return len(s)
	}
	return ansi.StringWidth(s)
}

// Fit truncates or pads s (which may hold styles) to exactly w cells.
func Fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := Width(s)
	if n > w {
		s = ansi.Truncate(s, w-1, "") + "…"
		n = Width(s)
	}
	if n < w {
		s += strings.Repeat(" ", w-n)
	}
	return s
}

// FitRight is Fit with the padding on the left, for numbers.
func FitRight(s string, w int) string {
	n := Width(s)
	if n >= w {
		return Fit(s, w)
	}
	return strings.Repeat(" ", w-n) + s
}

// Cut truncates s to at most w cells without padding.
func Cut(s string, w int) string {
	if Width(s) <= w {
		return s
	}
	if w <= 1 {
		return ansi.Truncate(s, w, "")
	}
	return ansi.Truncate(s, w-1, "") + "…"
}

func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// Head is at most the first n bytes of s, cut at a character boundary: a
// plugin's value can be megabytes, and a row that shows a hundred cells of
// it should not sanitize and measure the rest.
func Head(s string, n int) string { return clip.Head(s, n) }

// Sanitize makes text from a plugin safe to draw: escape sequences are
// dropped and control characters become spaces, so a plugin cannot move the
// cursor or recolour the console.
func Sanitize(s string) string { return termtext.Blank(s) }

// IndexFold finds sub in s ignoring ASCII case; -1 if absent.
func IndexFold(s, sub string) int {
	if sub == "" {
		return 0
	}
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if equalFoldASCII(s[i:i+n], sub) {
			return i
		}
	}
	return -1
}

func equalFoldASCII(a, b string) bool {
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}

// Highlight styles plain text s with base and every match of sub (ASCII
// case-insensitive) with hl.
func Highlight(s, sub string, base, hl lipgloss.Style) string {
	if sub == "" {
		return base.Render(s)
	}
	var b strings.Builder
	for {
		i := IndexFold(s, sub)
		if i < 0 {
			b.WriteString(base.Render(s))
			return b.String()
		}
		if i > 0 {
			b.WriteString(base.Render(s[:i]))
		}
		b.WriteString(hl.Render(s[i : i+len(sub)]))
		s = s[i+len(sub):]
		if s == "" {
			return b.String()
		}
	}
}

// Wrap splits plain text into lines of at most w cells.
func Wrap(s string, w int) []string {
	if w <= 0 {
		return nil
	}
	if Width(s) <= w {
		return []string{s}
	}
	return strings.Split(ansi.Hardwrap(s, w, true), "\n")
}

// WrapWords splits plain text into lines of at most w cells, breaking at
// spaces where it can: for prose an operator reads, where a word cut in two
// reads worse than a ragged edge.
func WrapWords(s string, w int) []string {
	if w <= 0 {
		return nil
	}
	if Width(s) <= w {
		return []string{s}
	}
	return strings.Split(ansi.Wrap(s, w, ""), "\n")
}

// Plural is n and the word that agrees with it: "1 match", "11 matches".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return Count(uint64(max(n, 0))) + " " + many
}
