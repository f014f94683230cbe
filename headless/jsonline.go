package headless

import (
	"strconv"
	"time"

	"github.com/plugvisor/plugvisor/internal/jsontext"
	"github.com/plugvisor/plugvisor/protocol"
)

// lineEncoder appends records as JSON lines, byte for byte what
// encoding/json makes of a record (keys sorted, HTML and U+2028/9 escaped,
// bad UTF-8 replaced), without its reflection: a flood is encoded on the
// goroutine that takes events off the subscription, and every microsecond
// spent per record there is a record the engine drops.
type lineEncoder struct {
	fields jsontext.Fields // reused for sorting each record's fields by name
	prefix []byte          // the event's part of every line: time, plugin, instance
}

// event sets what the lines of the next records share: an event's records
// have one time, plugin and instance, so those are formatted and escaped
// once per event, not once per record.
func (e *lineEncoder) event(t time.Time, plugin, instance string) {
	p := append(e.prefix[:0], `{"time":"`...)
	p = t.AppendFormat(p, time.RFC3339Nano)
	p = append(p, `","plugin":`...)
	p = jsontext.AppendString(p, plugin)
	p = append(p, `,"instance":`...)
	p = jsontext.AppendString(p, instance)
	e.prefix = append(p, `,"timestamp":`...)
}

// append adds one record line of the current event, newline included, to
// dst.
func (e *lineEncoder) append(dst []byte, r *protocol.Record) []byte {
	dst = append(dst, e.prefix...)
	dst = strconv.AppendInt(dst, r.Timestamp, 10)
	if r.Token != "" {
		dst = append(dst, `,"token":`...)
		dst = jsontext.AppendString(dst, r.Token)
	}
	dst = append(dst, `,"fields":`...)
	dst = e.fields.Append(dst, r.Fields)
	return append(dst, "}\n"...)
}
