package headless

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/plugvisor/plugvisor/protocol"
)

// lineEncoder appends records as JSON lines, byte for byte what
// encoding/json makes of a record (keys sorted, HTML and U+2028/9 escaped,
// bad UTF-8 replaced), without its reflection: a flood is encoded on the
// goroutine that takes events off the subscription, and every microsecond
// spent per record there is a record the engine drops.
type lineEncoder struct {
	fields []field // reused for sorting each record's fields by name
	prefix []byte  // the event's part of every line: time, plugin, instance
}

// event sets what the lines of the next records share: an event's records
// have one time, plugin and instance, so those are formatted and escaped
// once per event, not once per record.
func (e *lineEncoder) event(t time.Time, plugin, instance string) {
	p := append(e.prefix[:0], `{"time":"`...)
	p = t.AppendFormat(p, time.RFC3339Nano)
	p = append(p, `","plugin":`...)
	p = appendJSONString(p, plugin)
	p = append(p, `,"instance":`...)
	p = appendJSONString(p, instance)
	e.prefix = append(p, `,"timestamp":`...)
}

// append adds one record line of the current event, newline included, to
// dst.
func (e *lineEncoder) append(dst []byte, r *protocol.Record) []byte {
	dst = append(dst, e.prefix...)
	dst = strconv.AppendInt(dst, r.Timestamp, 10)
	if r.Token != "" {
		dst = append(dst, `,"token":`...)
		dst = appendJSONString(dst, r.Token)
	}
	dst = append(dst, `,"fields":`...)
	dst = e.appendFields(dst, r.Fields)
	return append(dst, "}\n"...)
}

func (e *lineEncoder) appendFields(dst []byte, fields map[string]string) []byte {
	if fields == nil {
		return append(dst, "null"...)
	}
	// Pairs, not keys: sorted, they need no second lookup of each value.
	e.fields = e.fields[:0]
	for k, v := range fields {
		e.fields = append(e.fields, field{k, v})
	}
	slices.SortFunc(e.fields, func(a, b field) int { return strings.Compare(a.k, b.k) })
	dst = append(dst, '{')
	for i, f := range e.fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, f.k)
		dst = append(dst, ':')
		dst = appendJSONString(dst, f.v)
	}
	clear(e.fields) // the encoder outlives the record: hold none of its strings
	return append(dst, '}')
}

type field struct{ k, v string }

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does with HTML escaping on.
func appendJSONString(dst []byte, s string) []byte {
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
