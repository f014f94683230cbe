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
//
// A flood's records nearly always share one set of field names, so Fields
// remembers the last set, sorted and already quoted: a record with the
// same names is written by looking its values up in that order, with no
// walk of the map, no sort and no escaping of the names. The names are
// kept as copies in its own buffers, never as the record's strings, so an
// encoder that outlives a record keeps none of it alive.
type Fields struct {
	pairs []field // scratch for a record whose names are not the last set

	// The last set of names, in order: names[i] is the i-th raw name,
	// quoted[i] the same quoted, with the ':' after it (',' before it but
	// the first), both slices of text.
	text   []byte
	names  []span
	quoted []span
	known  bool // names holds a set (possibly empty)
}

type span struct{ from, to int }

// maxKnownText bounds the bytes Fields keeps for the last set of names; a
// set larger than that is written the long way each time.
const maxKnownText = 4 << 10

// Append adds fields as an object with its keys sorted (null for a nil
// map) to dst.
func (e *Fields) Append(dst []byte, fields map[string]string) []byte {
	if fields == nil {
		return append(dst, "null"...)
	}
	if out, ok := e.appendKnown(dst, fields); ok {
		return out
	}
	// Pairs, not keys: sorted, they need no second lookup of each value.
	e.pairs = e.pairs[:0]
	for k, v := range fields {
		e.pairs = append(e.pairs, field{k, v})
	}
	slices.SortFunc(e.pairs, func(a, b field) int { return strings.Compare(a.k, b.k) })
	e.remember(e.pairs)
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

// appendKnown writes fields if their names are the last set: as many names,
// each of them present (names are unique, so then the sets are equal). It
// reports false, with dst as it was, otherwise.
func (e *Fields) appendKnown(dst []byte, fields map[string]string) ([]byte, bool) {
	if !e.known || len(fields) != len(e.names) {
		return dst, false
	}
	start := len(dst)
	dst = append(dst, '{')
	for i, n := range e.names {
		v, ok := fields[string(e.text[n.from:n.to])] // no allocation for a lookup
		if !ok {
			return dst[:start], false
		}
		q := e.quoted[i]
		dst = append(dst, e.text[q.from:q.to]...)
		dst = AppendString(dst, v)
	}
	return append(dst, '}'), true
}

// remember keeps sorted's names as the last set, unless they are too long
// to keep.
func (e *Fields) remember(sorted []field) {
	e.known = false
	e.text, e.names, e.quoted = e.text[:0], e.names[:0], e.quoted[:0]
	for i, f := range sorted {
		if len(e.text) > maxKnownText {
			return
		}
		from := len(e.text)
		e.text = append(e.text, f.k...)
		e.names = append(e.names, span{from, len(e.text)})
		from = len(e.text)
		if i > 0 {
			e.text = append(e.text, ',')
		}
		e.text = append(AppendString(e.text, f.k), ':')
		e.quoted = append(e.quoted, span{from, len(e.text)})
	}
	e.known = len(e.text) <= maxKnownText
}

type field struct{ k, v string }

const hexDigits = "0123456789abcdef"

// safe says which bytes a string keeps as they are: printable ASCII but for
// the quote, the backslash and the HTML characters. Bytes from 0x80 are not
// safe here: they are checked as UTF-8 on the slow path.
var safe = func() (t [256]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
	}
	return t
}()

// AppendString quotes s as encoding/json does with HTML escaping on.
func AppendString(dst []byte, s string) []byte {
	i := 0
	for i < len(s) && safe[s[i]] {
		i++
	}
	if i == len(s) { // the common case: nothing to escape
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	return appendEscaped(append(dst, '"'), s, i)
}

// appendEscaped writes s, whose bytes before i need no escaping, and the
// closing quote.
func appendEscaped(dst []byte, s string, i int) []byte {
	start := 0
	for i < len(s) {
		b := s[i]
		if safe[b] {
			i++
			continue
		}
		if b < utf8.RuneSelf {
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
