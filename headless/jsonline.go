package headless

import (
	"slices"
	"strconv"
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
	keys []string // reused for sorting each record's field names
}

// append adds one record line, newline included, to dst.
func (e *lineEncoder) append(dst []byte, t time.Time, plugin, instance string, r *protocol.Record) []byte {
	dst = append(dst, `{"time":"`...)
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","plugin":`...)
	dst = appendJSONString(dst, plugin)
	dst = append(dst, `,"instance":`...)
	dst = appendJSONString(dst, instance)
	dst = append(dst, `,"timestamp":`...)
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
	e.keys = e.keys[:0]
	for k := range fields {
		e.keys = append(e.keys, k)
	}
	slices.Sort(e.keys)
	dst = append(dst, '{')
	for i, k := range e.keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		dst = appendJSONString(dst, fields[k])
	}
	return append(dst, '}')
}

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
