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
	stamp  stampDigits
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
	dst = e.stamp.append(dst, r.Timestamp)
	if r.Token != "" {
		dst = append(dst, `,"token":`...)
		dst = jsontext.AppendString(dst, r.Token)
	}
	dst = append(dst, `,"fields":`...)
	dst = e.fields.Append(dst, r.Fields)
	return append(dst, "}\n"...)
}

// stampDigits writes record timestamps in decimal, as strconv does, with
// their leading digits kept from the last one: a flood's timestamps, in
// nanoseconds, share all but their last few digits from one record to the
// next, and formatting 19 digits was the line's largest cost.
type stampDigits struct {
	millis int64  // the timestamp's digits but its last six, as a number
	text   []byte // and as text; empty until the first
}

func (d *stampDigits) append(dst []byte, ts int64) []byte {
	const six = 1_000_000
	if ts < six {
		return strconv.AppendInt(dst, ts, 10) // negative or short: no leading digits to share
	}
	hi, lo := ts/six, ts%six
	if hi != d.millis || len(d.text) == 0 {
		d.millis, d.text = hi, strconv.AppendInt(d.text[:0], hi, 10)
	}
	dst = append(dst, d.text...)
	a, b, c := lo/10000*2, lo/100%100*2, lo%100*2
	return append(dst, digitPairs[a], digitPairs[a+1], digitPairs[b], digitPairs[b+1], digitPairs[c], digitPairs[c+1])
}

// digitPairs are "00" to "99", to write two digits at once.
const digitPairs = "00010203040506070809" + "10111213141516171819" + "20212223242526272829" + "30313233343536373839" +
	"40414243444546474849" + "50515253545556575859" + "60616263646566676869" + "70717273747576777879" +
	"80818283848586878889" + "90919293949596979899"
