package script

import (
	"fmt"
	"strconv"
	"strings"
)

// words splits a line into words the way a shell would, more or less:
// spaces separate words; "double quotes" take Go escapes (\n, \t, \", \x41,
// \u00e9); 'single quotes' are literal; quoted and bare parts that touch
// make one word; an unquoted # starts a comment. end is where the last
// word ends, so line[:end] is the line without its comment.
func words(line string) (out []string, end int, err error) {
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i == len(line) || line[i] == '#' {
			return out, end, nil
		}
		w, n, err := word(line[i:])
		if err != nil {
			return nil, 0, fmt.Errorf("column %d: %w", i+n+1, err)
		}
		out = append(out, w)
		i += n
		end = i
	}
}

// word reads one word from the start of s and returns it and the bytes it
// took; on error the count is where the problem starts.
func word(s string) (string, int, error) {
	var b strings.Builder
	i := 0
	for i < len(s) && !isSpace(s[i]) {
		switch s[i] {
		case '"':
			end := closingQuote(s, i)
			if end < 0 {
				return "", i, fmt.Errorf("unterminated double quote")
			}
			text, err := strconv.Unquote(s[i : end+1])
			if err != nil {
				return "", i, fmt.Errorf("bad quoted string %s: %w", s[i:end+1], err)
			}
			b.WriteString(text)
			i = end + 1
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return "", i, fmt.Errorf("unterminated single quote")
			}
			b.WriteString(s[i+1 : i+1+end])
			i += end + 2
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), i, nil
}

// closingQuote finds the " that ends the string opened at s[open].
func closingQuote(s string, open int) int {
	for j := open + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return -1
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }
