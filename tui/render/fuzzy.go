package render

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Fuzzy matching (k9s's): a text matches when it holds the query's
// characters in order, ignoring case. Spaces in the query are ignored, so
// "echo 2" and "echo2" are one query, wherever it is typed.

// FuzzyQuery is q as FuzzyHit and FuzzySpans take it: lower case, no
// spaces. Make it once per query, not once per line.
func FuzzyQuery(q string) []rune {
	return []rune(strings.ToLower(strings.Join(strings.Fields(q), "")))
}

// FuzzyHit reports whether s holds the runes of want (a FuzzyQuery) in
// order; an empty query matches nothing. It does not allocate: it is the
// test of every line of a buffer.
func FuzzyHit(s string, want []rune) bool {
	if len(want) == 0 {
		return false
	}
	k := 0
	for _, r := range s {
		if unicode.ToLower(r) == want[k] {
			if k++; k == len(want) {
				return true
			}
		}
	}
	return false
}

// FuzzySpans is where in s FuzzyHit found each rune of want, runs of
// neighbours as one byte range (fewer styles to draw); nil when s does
// not match.
func FuzzySpans(s string, want []rune) [][]int {
	if len(want) == 0 {
		return nil
	}
	var out [][]int
	k := 0
	for i, r := range s {
		if unicode.ToLower(r) != want[k] {
			continue
		}
		if n := len(out); n > 0 && out[n-1][1] == i {
			out[n-1][1] = i + utf8.RuneLen(r)
		} else {
			out = append(out, []int{i, i + utf8.RuneLen(r)})
		}
		if k++; k == len(want) {
			return out
		}
	}
	return nil
}
