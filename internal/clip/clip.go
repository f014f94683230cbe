// Package clip bounds text a peer controls before it is quoted in a
// reason, a status or a log line, so that no plugin or client can make the
// supervisor repeat megabytes.
package clip

import (
	"strconv"
	"unicode/utf8"
)

// Head is at most the first n bytes of s, cut at a character boundary.
func Head(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n = max(n, 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Text is at most n bytes of s, cut at a character boundary, followed when
// cut by a mark saying how much was left out, so that a cut is never
// mistaken for the whole.
func Text(s string, n int) string {
	if len(s) <= n {
		return s
	}
	h := Head(s, n)
	return h + "…(+" + strconv.Itoa(len(s)-len(h)) + " bytes)"
}
