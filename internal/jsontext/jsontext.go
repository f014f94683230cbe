// Package jsontext appends JSON text by hand, byte for byte what
// encoding/json makes (keys sorted, HTML and U+2028/9 escaped, bad UTF-8
// replaced), without its reflection: for the paths that encode a record
// per message (headless JSON lines, the fleet's record bodies).
package jsontext

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Fields appends a map[string]string as a JSON object; its zero value is
// ready, and it reuses its scratch from one call to the next.
type Fields struct {
	pairs []field
}

// Append adds fields as an object with its keys sorted (null for a nil
// map) to dst.
func (e *Fields) Append(dst []byte, fields map[string]string) []byte {
	if fields == nil {
		return append(dst, "null"...)
	}
	// Pairs, not keys: sorted, they need no second lookup of each value.
	e.pairs = e.pairs[:0]
	for k, v := range fields {
		e.pairs = append(e.pairs, field{k, v})
	}
	slices.SortFunc(e.pairs, func(a, b field) int { return strings.Compare(a.k, b.k) })
	dst = append(dst, '{')
	for i, f := range e.pairs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, f.k)
		dst = append(dst, ':')
		dst = AppendString(dst, f.v)
	}
	clear(e.pairs) // the encoder outlives the record: hold none of its strings
	return append(dst, '}')
}

type field struct{ k, v string }

const hexDigits = "0123456789abcdef"

// AppendString quotes s as encoding/json does with HTML escaping on.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if jsonSafe(b) {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendEscapedByte(dst, b)
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func jsonSafe(b byte) bool {
	return b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
}

func appendEscapedByte(dst []byte, b byte) []byte {
	switch b {
	case '\\', '"':
		return append(dst, '\\', b)
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
}
