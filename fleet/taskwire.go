package fleet

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/plugvisor/plugvisor/internal/jsontext"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// A task's round trip (the send request, the Reply coming back) is encoded
// and read by hand: encoding/json's reflection was the largest cost of the
// fleet path's own (see BENCHMARKS.md). The encoders write byte for byte
// what json.Marshal writes. The readers take only the shape the encoders
// write (known keys, strings with nothing to unescape, numbers in range)
// and hand anything else to encoding/json, so what either accepts, and
// every error, is encoding/json's; the tests check both.

// appendSendRequest appends r as json.Marshal writes it.
func appendSendRequest(b []byte, r *SendRequest) []byte {
	b = jsontext.AppendString(append(b, `{"plugin":`...), r.Plugin)
	b = strconv.AppendUint(append(b, `,"id":`...), uint64(r.ID), 10)
	b = jsontext.AppendString(append(b, `,"content":`...), r.Content)
	if r.Token != "" {
		b = jsontext.AppendString(append(b, `,"token":`...), r.Token)
	}
	if r.Timeout != "" {
		b = jsontext.AppendString(append(b, `,"timeout":`...), r.Timeout)
	}
	return append(b, '}')
}

// appendReply appends r as json.Marshal writes it; fields encodes the
// records' fields.
func appendReply(b []byte, r *supervisor.Reply, fields *jsontext.Fields) []byte {
	b = jsontext.AppendString(append(b, `{"plugin":`...), r.Plugin)
	b = jsontext.AppendString(append(b, `,"instance":`...), r.Instance)
	b = strconv.AppendUint(append(b, `,"id":`...), uint64(r.ID), 10)
	b = jsontext.AppendString(append(b, `,"token":`...), r.Token)
	b = jsontext.AppendString(append(b, `,"outcome":`...), string(r.Outcome))
	if len(r.Records) > 0 {
		b = append(b, `,"records":[`...)
		for i := range r.Records {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendRecord(b, &r.Records[i], fields)
		}
		b = append(b, ']')
	}
	if r.Dropped != 0 {
		b = strconv.AppendInt(append(b, `,"dropped":`...), int64(r.Dropped), 10)
	}
	if r.DroppedBytes != 0 {
		b = strconv.AppendInt(append(b, `,"dropped_bytes":`...), r.DroppedBytes, 10)
	}
	b = jsontext.AppendString(append(b, `,"status":`...), r.Status)
	if r.Error != "" {
		b = jsontext.AppendString(append(b, `,"error":`...), r.Error)
	}
	b = strconv.AppendInt(append(b, `,"rtt":`...), int64(r.RTT), 10)
	return append(b, '}')
}

func appendRecord(b []byte, r *protocol.Record, fields *jsontext.Fields) []byte {
	b = strconv.AppendInt(append(b, `{"timestamp":`...), r.Timestamp, 10)
	if r.Token != "" {
		b = jsontext.AppendString(append(b, `,"token":`...), r.Token)
	}
	return append(fields.Append(append(b, `,"fields":`...), r.Fields), '}')
}

// decodeSendRequest reads a send request's body into r, as decode does.
func decodeSendRequest(body []byte, r *SendRequest) error {
	if readSendRequest(body, r) {
		return nil
	}
	return decode(OpSend, body, r)
}

// readSendRequest is decodeSendRequest's fast path: false, r untouched,
// for a body not in the shape appendSendRequest writes.
func readSendRequest(body []byte, r *SendRequest) bool {
	var q SendRequest
	rd := wireReader{s: body}
	ok := rd.object(func(key []byte) bool {
		switch string(key) {
		case "plugin":
			return rd.str(&q.Plugin)
		case "id":
			return rd.uint32(&q.ID)
		case "content":
			return rd.str(&q.Content)
		case "token":
			return rd.str(&q.Token)
		case "timeout":
			return rd.str(&q.Timeout)
		}
		return false
	})
	if ok && rd.end() {
		*r = q
		return true
	}
	return false
}

// decodeReply reads a send result into out, as json.Unmarshal does: the
// fields the body holds replace out's.
func decodeReply(body []byte, out *supervisor.Reply) error {
	if readReply(body, out) {
		return nil
	}
	return json.Unmarshal(body, out)
}

// readReply is decodeReply's fast path: false, out untouched, for a body
// not in the shape appendReply writes.
func readReply(body []byte, out *supervisor.Reply) bool {
	q := *out
	rd := wireReader{s: body}
	ok := rd.object(func(key []byte) bool {
		switch string(key) {
		case "plugin":
			return rd.str(&q.Plugin)
		case "instance":
			return rd.str(&q.Instance)
		case "id":
			return rd.uint32(&q.ID)
		case "token":
			return rd.str(&q.Token)
		case "outcome":
			return rd.str((*string)(&q.Outcome))
		case "records":
			// encoding/json would decode into records already there.
			return q.Records == nil && rd.records(&q.Records)
		case "dropped":
			var v int64
			ok := rd.int(&v, math.MinInt, math.MaxInt)
			q.Dropped = int(v)
			return ok
		case "dropped_bytes":
			return rd.int(&q.DroppedBytes, math.MinInt64, math.MaxInt64)
		case "status":
			return rd.str(&q.Status)
		case "error":
			return rd.str(&q.Error)
		case "rtt":
			return rd.int((*int64)(&q.RTT), math.MinInt64, math.MaxInt64)
		}
		return false
	})
	if ok && rd.end() {
		*out = q
		return true
	}
	return false
}

// wireReader reads the JSON the encoders above write, and reports false
// (its caller then asks encoding/json) at anything else: whitespace,
// escapes, an unknown key, null, a number out of range.
type wireReader struct {
	s []byte
	i int
}

func (r *wireReader) next(c byte) bool {
	if r.i < len(r.s) && r.s[r.i] == c {
		r.i++
		return true
	}
	return false
}

func (r *wireReader) end() bool { return r.i == len(r.s) }

// object reads {"key":value,...}, value read by field, which reports
// whether it could.
func (r *wireReader) object(field func(key []byte) bool) bool {
	if !r.next('{') {
		return false
	}
	if r.next('}') {
		return true
	}
	for {
		key, plain, ok := r.text()
		if !ok || !plain || !r.next(':') || !field(key) {
			return false
		}
		if r.next('}') {
			return true
		}
		if !r.next(',') {
			return false
		}
	}
}

// str reads a string. One with escapes or invalid UTF-8 (a task's JSON
// content, say) is unquoted by encoding/json, so that the text is always
// what encoding/json makes of it.
func (r *wireReader) str(out *string) bool {
	s, plain, ok := r.text()
	switch {
	case !ok:
		return false
	case plain:
		*out = string(s)
		return true
	}
	return json.Unmarshal(r.s[r.i-len(s)-2:r.i], out) == nil
}

// text reads a string and returns its bytes, still quoted as in the
// body; plain says they need no unquoting.
func (r *wireReader) text() (s []byte, plain, ok bool) {
	if !r.next('"') {
		return nil, false, false
	}
	start, plain := r.i, true
	for ; r.i < len(r.s); r.i++ {
		switch c := r.s[r.i]; {
		case c == '"':
			s = r.s[start:r.i]
			r.i++
			return s, plain && utf8.Valid(s), true
		case c == '\\':
			plain = false
			r.i++ // the escaped byte may be a quote
		case c < 0x20:
			return nil, false, false
		}
	}
	return nil, false, false
}

// int reads an integer in [lo, hi], in the form JSON allows (no leading
// zero, no fraction or exponent).
func (r *wireReader) int(out *int64, lo, hi int64) bool {
	neg := r.next('-')
	if neg && lo >= 0 {
		return false // encoding/json refuses even -0 for an unsigned
	}
	start := r.i
	var u uint64
	for ; r.i < len(r.s) && r.s[r.i] >= '0' && r.s[r.i] <= '9'; r.i++ {
		if r.i-start == 19 { // more digits than an int64 holds
			return false
		}
		u = u*10 + uint64(r.s[r.i]-'0')
	}
	n := r.i - start
	if n == 0 || (n > 1 && r.s[start] == '0') || u > math.MaxInt64+uint64(b2i(neg)) {
		return false
	}
	v := int64(u) // math.MinInt64's magnitude wraps to itself
	if neg {
		v = -v
	}
	if v < lo || v > hi {
		return false
	}
	*out = v
	return true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (r *wireReader) uint32(out *uint32) bool {
	var v int64
	if !r.int(&v, 0, math.MaxUint32) {
		return false
	}
	*out = uint32(v)
	return true
}

// records reads a reply's records; each record's fields are read by
// jsontext.DecodeObject, which accepts what encoding/json does.
func (r *wireReader) records(out *[]protocol.Record) bool {
	if !r.next('[') {
		return false
	}
	var recs []protocol.Record
	if !r.next(']') {
		for {
			var rec protocol.Record
			if !r.record(&rec) {
				return false
			}
			recs = append(recs, rec)
			if r.next(']') {
				break
			}
			if !r.next(',') {
				return false
			}
		}
	}
	if recs == nil {
		recs = []protocol.Record{} // as encoding/json makes of []
	}
	*out = recs
	return true
}

func (r *wireReader) record(rec *protocol.Record) bool {
	return r.object(func(key []byte) bool {
		switch string(key) {
		case "timestamp":
			return r.int(&rec.Timestamp, math.MinInt64, math.MaxInt64)
		case "token":
			return r.str(&rec.Token)
		case "fields":
			// encoding/json would decode a second one into the map the
			// first made, keeping the keys of both.
			return rec.Fields == nil && r.fields(&rec.Fields)
		}
		return false
	})
}

// fields reads an object of strings: as no value is an object, it ends at
// the first '}' outside a string.
func (r *wireReader) fields(out *map[string]string) bool {
	if bytes.HasPrefix(r.s[r.i:], []byte("null")) {
		r.i += len("null")
		*out = nil
		return true
	}
	if r.i >= len(r.s) || r.s[r.i] != '{' {
		return false
	}
	start, in := r.i, false
	for ; r.i < len(r.s); r.i++ {
		switch c := r.s[r.i]; {
		case in && c == '\\':
			r.i++ // the escaped byte is not a quote that ends the string
		case c == '"':
			in = !in
		case !in && c == '}':
			r.i++
			m, err := jsontext.DecodeObject(r.s[start:r.i], MaxRecordFields)
			if err != nil || m == nil {
				return false
			}
			*out = m
			return true
		}
	}
	return false
}
