package jsontext

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeError says why DecodeObject refused its input and where: Offset
// is the byte of the input at which it stopped.
type DecodeError struct {
	Offset int
	What   string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("offset %d: %s", e.Offset, e.What)
}

// DecodeObject reads a JSON object whose values are all strings, as
// encoding/json.Unmarshal reads it into a map[string]string, without its
// reflection: for the paths that decode a record per message (the
// fleet's record bodies). It accepts exactly what Unmarshal accepts there
// and makes the same map: escapes (surrogate pairs joined, a lone
// surrogate U+FFFD), each byte of invalid UTF-8 as U+FFFD, the last of
// duplicate keys, a null value as "", and a nil map for a top-level null.
// Anything else is a *DecodeError; so is an object of more than
// maxFields distinct keys, found without reading further.
//
// The map's strings that need no unescaping share one copy of data, so
// the map holds that copy while any of them lives. What it allocates
// besides the map is at most about three times len(data), and up to
// twelve times for input that is mostly invalid UTF-8 (each byte of it
// three of U+FFFD).
func DecodeObject(data []byte, maxFields int) (map[string]string, error) {
	d := decoder{s: string(data)}
	return d.object(maxFields)
}

// decoder reads one object from s; i is the next byte to read.
type decoder struct {
	s       string
	i       int
	scratch []byte // the unescaped text of the string being read
}

func (d *decoder) object(maxFields int) (map[string]string, error) {
	d.skipSpace()
	if d.i < len(d.s) && d.s[d.i] == 'n' {
		if err := d.literal("null"); err != nil {
			return nil, err
		}
		return nil, d.end()
	}
	if err := d.expect('{', "an object"); err != nil {
		return nil, err
	}
	// Each field has four quotes at least: a bound on their number that
	// is cheap to count and never above what the input could hold.
	m := make(map[string]string, min(strings.Count(d.s[d.i:], `"`)/4, maxFields))
	d.skipSpace()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		return m, d.end()
	}
	for {
		at := d.i
		k, err := d.str("a key")
		if err != nil {
			return nil, err
		}
		d.skipSpace()
		if err := d.expect(':', "':' after a key"); err != nil {
			return nil, err
		}
		d.skipSpace()
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		m[k] = v
		if len(m) > maxFields {
			return nil, &DecodeError{at, fmt.Sprintf("more than %d fields", maxFields)}
		}
		d.skipSpace()
		if d.i < len(d.s) && d.s[d.i] == '}' {
			d.i++
			return m, d.end()
		}
		if err := d.expect(',', "',' or '}' after a value"); err != nil {
			return nil, err
		}
		d.skipSpace()
	}
}

// value reads a field's value: a string, or null (Unmarshal stores a
// string's zero value for it).
func (d *decoder) value() (string, error) {
	if d.i < len(d.s) && d.s[d.i] == 'n' {
		return "", d.literal("null")
	}
	return d.str("a string value")
}

// end accepts only whitespace after the object.
func (d *decoder) end() error {
	d.skipSpace()
	if d.i < len(d.s) {
		return &DecodeError{d.i, fmt.Sprintf("%s after the object", d.describe())}
	}
	return nil
}

func (d *decoder) skipSpace() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) expect(c byte, want string) error {
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return nil
	}
	return d.wanted(want)
}

func (d *decoder) literal(lit string) error {
	for j := 0; j < len(lit); j++ {
		if d.i >= len(d.s) || d.s[d.i] != lit[j] {
			return d.wanted(lit)
		}
		d.i++
	}
	return nil
}

// wanted is the error for finding something other than want at d.i.
func (d *decoder) wanted(want string) error {
	return &DecodeError{d.i, fmt.Sprintf("%s where %s should be", d.describe(), want)}
}

// describe names the byte at d.i, or the end of the input.
func (d *decoder) describe() string {
	if d.i >= len(d.s) {
		return "end of input"
	}
	return fmt.Sprintf("%q", d.s[d.i])
}

// str reads a string. One with nothing to unescape or replace is a
// substring of the input; any other is unescaped into scratch and copied.
func (d *decoder) str(what string) (string, error) {
	if err := d.expect('"', what); err != nil {
		return "", err
	}
	start := d.i
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return d.s[start : d.i-1], nil
		case c == '\\' || c < ' ':
			return d.unescape(start)
		case c < utf8.RuneSelf:
			d.i++
		default:
			r, size := utf8.DecodeRuneInString(d.s[d.i:])
			if r == utf8.RuneError && size == 1 {
				return d.unescape(start)
			}
			d.i += size
		}
	}
	return "", &DecodeError{d.i, "end of input inside a string"}
}

// unescape finishes the string that began at start, d.i at the first
// byte that needs work.
func (d *decoder) unescape(start int) (string, error) {
	if d.scratch == nil {
		// Once per object, as long as the rest of the input: what any of
		// its strings needs unless bad UTF-8 triples it.
		d.scratch = make([]byte, 0, len(d.s)-start)
	}
	b := append(d.scratch[:0], d.s[start:d.i]...)
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			d.scratch = b
			return string(b), nil
		case c == '\\':
			var err error
			if b, err = d.escape(b); err != nil {
				return "", err
			}
		case c < ' ':
			return "", &DecodeError{d.i, fmt.Sprintf("control character %q inside a string", c)}
		case c < utf8.RuneSelf:
			b = append(b, c)
			d.i++
		default:
			// Invalid UTF-8 decodes to U+FFFD one byte at a time, which is
			// what Unmarshal puts in its place.
			r, size := utf8.DecodeRuneInString(d.s[d.i:])
			if cap(b)-len(b) < utf8.UTFMax {
				// Room for the worst of the rest (each byte U+FFFD, three bytes) in one
				// step, not append's growth by a quarter at a time.
				b = slices.Grow(b, 3*(len(d.s)-d.i))
			}
			b = utf8.AppendRune(b, r)
			d.i += size
		}
	}
	return "", &DecodeError{d.i, "end of input inside a string"}
}

// escape appends what the escape at d.i stands for.
func (d *decoder) escape(b []byte) ([]byte, error) {
	at := d.i
	if d.i+1 >= len(d.s) {
		return nil, &DecodeError{d.i + 1, "end of input inside an escape"}
	}
	c := d.s[d.i+1]
	d.i += 2
	switch c {
	case '"', '\\', '/':
		return append(b, c), nil
	case 'b':
		return append(b, '\b'), nil
	case 'f':
		return append(b, '\f'), nil
	case 'n':
		return append(b, '\n'), nil
	case 'r':
		return append(b, '\r'), nil
	case 't':
		return append(b, '\t'), nil
	case 'u':
		r, err := d.hex4()
		if err != nil {
			return nil, err
		}
		if utf16.IsSurrogate(r) {
			// Joined with a following \u low surrogate; alone, U+FFFD and
			// the escape after it (if any) read on its own.
			if r2, ok := d.peekU4(); ok {
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					d.i += 6
					return utf8.AppendRune(b, dec), nil
				}
			}
			r = utf8.RuneError
		}
		return utf8.AppendRune(b, r), nil
	}
	return nil, &DecodeError{at, fmt.Sprintf("invalid escape \\%s", d.s[at+1:at+2])}
}

// hex4 reads the four hex digits of a \u escape at d.i.
func (d *decoder) hex4() (rune, error) {
	var r rune
	for j := 0; j < 4; j++ {
		if d.i >= len(d.s) {
			return 0, &DecodeError{d.i, "end of input inside a \\u escape"}
		}
		h := hexValue(d.s[d.i])
		if h < 0 {
			return 0, &DecodeError{d.i, fmt.Sprintf("%q in a \\u escape, not a hex digit", d.s[d.i])}
		}
		r = r<<4 | h
		d.i++
	}
	return r, nil
}

// peekU4 reads a \uXXXX at d.i without consuming it.
func (d *decoder) peekU4() (rune, bool) {
	if d.i+6 > len(d.s) || d.s[d.i] != '\\' || d.s[d.i+1] != 'u' {
		return 0, false
	}
	var r rune
	for j := d.i + 2; j < d.i+6; j++ {
		h := hexValue(d.s[j])
		if h < 0 {
			return 0, false
		}
		r = r<<4 | h
	}
	return r, true
}

func hexValue(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}
