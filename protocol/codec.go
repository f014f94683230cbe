package protocol

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/plugvisor/plugvisor/internal/msgpack"
)

// Append encodes m as a msgpack map and appends it to dst. The "kind" key is
// always written first so decoders can dispatch without scanning.
//
// A message the peer's decoder would refuse (a record without data_type, a
// hello without a name, a duration that does not fit the wire) is refused
// here instead, with the same error, and dst is returned unchanged: one bad
// record must cost its sender an error, not the connection.
func Append(dst []byte, m Message) ([]byte, error) {
	out, err := appendMessage(dst, m)
	if err != nil {
		return dst, err
	}
	return out, nil
}

func appendMessage(dst []byte, m Message) ([]byte, error) {
	switch m := m.(type) {
	case *Hello:
		if err := checkHello(m); err != nil {
			return dst, err
		}
		dst = msgpack.AppendMapHeader(dst, 6)
		dst = msgpack.AppendKeyString(dst, "kind", string(KindHello))
		dst = msgpack.AppendUint16s(msgpack.AppendString(dst, "versions"), m.Versions)
		dst = msgpack.AppendKeyString(dst, "name", m.Name)
		dst = msgpack.AppendKeyString(dst, "version", m.Version)
		dst = msgpack.AppendInt(msgpack.AppendString(dst, "pid"), int64(m.PID))
		return msgpack.AppendKeyString(dst, "instance", m.Instance), nil
	case *Welcome:
		hb, err := wireMillis(KindWelcome, "heartbeat_ms", m.Heartbeat)
		if err != nil {
			return dst, err
		}
		dst = msgpack.AppendMapHeader(dst, 5)
		dst = msgpack.AppendKeyString(dst, "kind", string(KindWelcome))
		dst = msgpack.AppendKeyUint(dst, "protocol", uint64(m.Protocol))
		dst = msgpack.AppendKeyUint(dst, "heartbeat_ms", hb)
		dst = msgpack.AppendKeyString(dst, "supervisor", m.Supervisor)
		return msgpack.AppendKeyUint(dst, "max_frame", uint64(m.MaxFrame)), nil
	case *Reject:
		dst = msgpack.AppendMapHeader(dst, 4)
		dst = msgpack.AppendKeyString(dst, "kind", string(KindReject))
		dst = msgpack.AppendKeyString(dst, "code", string(m.Code))
		dst = msgpack.AppendKeyString(dst, "reason", m.Reason)
		return msgpack.AppendUint16s(msgpack.AppendString(dst, "versions"), m.Versions), nil
	case *Data:
		dst = msgpack.AppendMapHeader(dst, 2)
		dst = msgpack.AppendKeyString(dst, "kind", string(KindData))
		dst = msgpack.AppendArrayHeader(msgpack.AppendString(dst, "records"), len(m.Records))
		for i := range m.Records {
			var err error
			if dst, err = appendRecord(dst, &m.Records[i], i); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case *Task:
		if m.Token == "" {
			return dst, refuse(ErrMissingField, KindTask, "token", "")
		}
		dst = msgpack.AppendMapHeader(dst, 4)
		dst = msgpack.AppendKeyString(dst, "kind", string(KindTask))
		dst = msgpack.AppendKeyUint(dst, "id", uint64(m.ID))
		dst = msgpack.AppendKeyString(dst, "content", m.Content)
		return msgpack.AppendKeyString(dst, "token", m.Token), nil
	case *Ping:
		return appendPingPong(dst, KindPing, m.Seq, m.Time), nil
	case *Pong:
		return appendPingPong(dst, KindPong, m.Seq, m.Time), nil
	case *Goodbye:
		dst = msgpack.AppendMapHeader(dst, 2)
		dst = msgpack.AppendKeyString(dst, "kind", string(KindGoodbye))
		return msgpack.AppendKeyString(dst, "reason", m.Reason), nil
	case *Shutdown:
		grace, err := wireMillis(KindShutdown, "grace_ms", m.Grace)
		if err != nil {
			return dst, err
		}
		dst = msgpack.AppendMapHeader(dst, 3)
		dst = msgpack.AppendKeyString(dst, "kind", string(KindShutdown))
		dst = msgpack.AppendKeyUint(dst, "grace_ms", grace)
		return msgpack.AppendKeyString(dst, "reason", m.Reason), nil
	case nil:
		return dst, errors.New("protocol: cannot encode a nil message")
	}
	return dst, fmt.Errorf("protocol: cannot encode %T", m)
}

// refuse is the encoder's twin of a decode error: the same code and field,
// said before the frame leaves rather than after it arrives.
func refuse(code ErrorCode, kind Kind, field, problem string) error {
	detail := "not sent: the peer would reject it"
	if problem != "" {
		detail = problem + "; " + detail
	}
	return &Error{Code: code, Kind: kind, Field: field, Detail: detail}
}

func checkHello(m *Hello) error {
	switch {
	case len(m.Versions) == 0:
		return refuse(ErrMissingField, KindHello, "versions", "")
	case m.Name == "":
		return refuse(ErrMissingField, KindHello, "name", "")
	case m.PID < 0 || m.PID > math.MaxInt32:
		return refuse(ErrMalformed, KindHello, "pid", fmt.Sprintf("%d is outside 0..%d", m.PID, math.MaxInt32))
	}
	return nil
}

// wireMillis converts a duration to the wire's whole milliseconds, which the
// decoder accepts up to MaxUint32 (about 49 days).
func wireMillis(kind Kind, field string, d time.Duration) (uint64, error) {
	ms := d / time.Millisecond
	if ms < 0 || ms > math.MaxUint32 {
		return 0, refuse(ErrMalformed, kind, field, fmt.Sprintf("%v is outside 0..%dms", d, uint32(math.MaxUint32)))
	}
	return uint64(ms), nil
}

func appendPingPong(dst []byte, k Kind, seq uint64, t int64) []byte {
	dst = msgpack.AppendMapHeader(dst, 3)
	dst = msgpack.AppendKeyString(dst, "kind", string(k))
	dst = msgpack.AppendKeyUint(dst, "seq", seq)
	return msgpack.AppendInt(msgpack.AppendString(dst, "time"), t)
}

func appendRecord(dst []byte, rec *Record, i int) ([]byte, error) {
	if dt, ok := rec.Fields[FieldDataType]; !ok {
		return dst, refuse(ErrMissingField, KindData, recordField(i, "fields."+FieldDataType), "")
	} else if dt == "" {
		return dst, refuse(ErrMalformed, KindData, recordField(i, "fields."+FieldDataType), "must not be empty")
	}
	n := 2
	if rec.Token != "" {
		n++
	}
	dst = msgpack.AppendMapHeader(dst, n)
	dst = msgpack.AppendInt(msgpack.AppendString(dst, "timestamp"), rec.Timestamp)
	if rec.Token != "" {
		dst = msgpack.AppendKeyString(dst, "token", rec.Token)
	}
	dst = msgpack.AppendMapHeader(msgpack.AppendString(dst, "fields"), len(rec.Fields))
	for k, v := range rec.Fields {
		dst = msgpack.AppendKeyString(dst, k, v)
	}
	return dst, nil
}

// recordField is the path of a field of records[i], for errors.
func recordField(i int, name string) string {
	if name == "" {
		return fmt.Sprintf("records[%d]", i)
	}
	return fmt.Sprintf("records[%d].%s", i, name)
}

// Decode parses one frame payload. Unknown keys are skipped so a newer peer
// may add optional fields; unknown kinds and missing required fields are
// errors.
func Decode(payload []byte) (Message, error) {
	var d decoder
	return d.decode(payload)
}

// decoder keeps scratch space between frames so the record path allocates
// only what it hands back.
type decoder struct {
	spans []span
}

type span struct{ k0, k1, v0, v1 int }

func (d *decoder) decode(payload []byte) (Message, error) {
	r := &msgpack.Reader{Buf: payload}
	n, err := r.MapHeader()
	if err != nil {
		return nil, &Error{Code: ErrMalformed, Detail: "a message must be a msgpack map: " + err.Error()}
	}
	body := r.Pos
	kb, err := findKind(r, n)
	if err != nil {
		return nil, err
	}
	r.Pos = body
	m, err := d.decodeKind(r, n, kb)
	if err != nil {
		return nil, err
	}
	// A frame holds one message and nothing else: stray bytes mean the
	// sender's length prefix or encoder is wrong, and guessing would hide it.
	if r.Remaining() > 0 {
		return nil, errorf(ErrMalformed, m.Kind(), "", "the message ends at byte %d but the payload has %d more", r.Pos, r.Remaining())
	}
	return m, nil
}

// decodeKind dispatches on the kind's bytes; switching on string(kind)
// compiles to comparisons, so no string is allocated per frame.
func (d *decoder) decodeKind(r *msgpack.Reader, n int, kind []byte) (Message, error) {
	switch string(kind) {
	case string(KindHello):
		return decodeHello(r, n)
	case string(KindWelcome):
		return decodeWelcome(r, n)
	case string(KindReject):
		return decodeReject(r, n)
	case string(KindData):
		return d.decodeData(r, n)
	case string(KindTask):
		return decodeTask(r, n)
	case string(KindPing):
		return decodePingPong(r, n, KindPing)
	case string(KindPong):
		return decodePingPong(r, n, KindPong)
	case string(KindGoodbye):
		return decodeGoodbye(r, n)
	case string(KindShutdown):
		return decodeShutdown(r, n)
	}
	return nil, errorf(ErrUnknownKind, "", "kind", "%q is not a kind of protocol v%d", kind, Version)
}

// findKind returns the "kind" value; it is normally the first key, but any
// position is accepted because not every encoder keeps map order. It returns
// the bytes, not a string: switching on string(b) costs no allocation.
func findKind(r *msgpack.Reader, n int) ([]byte, error) {
	for i := 0; i < n; i++ {
		key, err := r.StrBytes()
		if err != nil {
			return nil, errorf(ErrMalformed, "", "", "key %d: %v", i, err)
		}
		if string(key) != "kind" {
			if err := r.Skip(); err != nil {
				return nil, errorf(ErrMalformed, "", pathKey(key), "%v", err)
			}
			continue
		}
		k, err := r.StrBytes()
		if err != nil {
			return nil, errorf(ErrMalformed, "", "kind", "%v", err)
		}
		return k, nil
	}
	return nil, &Error{Code: ErrMissingField, Field: "kind"}
}

// fields walks a message's top-level map, handing each key to fn. fn reports
// whether it consumed the value; unconsumed values are skipped.
func fields(r *msgpack.Reader, n int, kind Kind, fn func(key []byte) (bool, error)) error {
	for i := 0; i < n; i++ {
		key, err := r.StrBytes()
		if err != nil {
			return errorf(ErrMalformed, kind, "", "key %d: %v", i, err)
		}
		used, err := fn(key)
		if err == nil && !used {
			err = r.Skip()
		}
		if err != nil {
			var pe *Error
			if errors.As(err, &pe) {
				return pe
			}
			return errorf(ErrMalformed, kind, pathKey(key), "%v", err)
		}
	}
	return nil
}

func missing(kind Kind, field string) error {
	return &Error{Code: ErrMissingField, Kind: kind, Field: field}
}

func decodeHello(r *msgpack.Reader, n int) (*Hello, error) {
	m := &Hello{}
	var haveVersions, haveName, havePID bool
	err := fields(r, n, KindHello, func(key []byte) (bool, error) {
		var err error
		switch string(key) {
		case "versions":
			m.Versions, err = r.Uint16s()
			haveVersions = true
		case "name":
			m.Name, err = r.Str()
			haveName = true
		case "version":
			if !r.IsNil() {
				m.Version, err = r.Str()
			}
		case "pid":
			var v uint64
			v, err = r.Uint(math.MaxInt32)
			m.PID, havePID = int(v), true
		case "instance":
			if !r.IsNil() {
				m.Instance, err = r.Str()
			}
		default:
			return false, nil
		}
		return true, err
	})
	switch {
	case err != nil:
		return nil, err
	case !haveVersions || len(m.Versions) == 0:
		return nil, missing(KindHello, "versions")
	case !haveName || m.Name == "":
		return nil, missing(KindHello, "name")
	case !havePID:
		return nil, missing(KindHello, "pid")
	}
	return m, nil
}

func decodeWelcome(r *msgpack.Reader, n int) (*Welcome, error) {
	m := &Welcome{}
	var haveProto, haveHB bool
	err := fields(r, n, KindWelcome, func(key []byte) (bool, error) {
		var err error
		var v uint64
		switch string(key) {
		case "protocol":
			v, err = r.Uint(math.MaxUint16)
			m.Protocol, haveProto = uint16(v), true
		case "heartbeat_ms":
			v, err = r.Uint(math.MaxUint32)
			m.Heartbeat, haveHB = time.Duration(v)*time.Millisecond, true
		case "supervisor":
			if !r.IsNil() {
				m.Supervisor, err = r.Str()
			}
		case "max_frame":
			if !r.IsNil() {
				v, err = r.Uint(math.MaxUint32)
				m.MaxFrame = uint32(v)
			}
		default:
			return false, nil
		}
		return true, err
	})
	switch {
	case err != nil:
		return nil, err
	case !haveProto:
		return nil, missing(KindWelcome, "protocol")
	case !haveHB:
		return nil, missing(KindWelcome, "heartbeat_ms")
	}
	return m, nil
}

func decodeReject(r *msgpack.Reader, n int) (*Reject, error) {
	m := &Reject{}
	var haveReason bool
	err := fields(r, n, KindReject, func(key []byte) (bool, error) {
		var err error
		var s string
		switch string(key) {
		case "code":
			if !r.IsNil() {
				s, err = r.Str()
				m.Code = RejectCode(s)
			}
		case "reason":
			m.Reason, err = r.Str()
			haveReason = true
		case "versions":
			if !r.IsNil() {
				m.Versions, err = r.Uint16s()
			}
		default:
			return false, nil
		}
		return true, err
	})
	if err == nil && !haveReason {
		err = missing(KindReject, "reason")
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (d *decoder) decodeData(r *msgpack.Reader, n int) (*Data, error) {
	m := &Data{}
	var have bool
	err := fields(r, n, KindData, func(key []byte) (bool, error) {
		if string(key) != "records" {
			return false, nil
		}
		have = true
		var err error
		m.Records, err = d.records(r)
		return true, err
	})
	if err == nil && !have {
		err = missing(KindData, "records")
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// minRecordSize is the fewest bytes a valid record can take: fixmap header,
// "timestamp" and a fixint, "fields", a fixmap header, "data_type" and a
// one-byte value (1+10+1+7+1+10+2). The records slice is sized by the bytes
// that remain rather than by the array header alone, so a lying header cannot
// make the decoder allocate more Records than the frame could hold.
const minRecordSize = 32

// maxFieldsHint caps the map size taken on trust from a record's header; a
// record with more distinct fields still decodes, its map just grows.
const maxFieldsHint = 64

// maxSpans is how much span scratch a decoder keeps between frames; a rare
// record with thousands of fields does not pin its scratch for the life of
// the connection.
const maxSpans = 1024

func (d *decoder) records(r *msgpack.Reader) ([]Record, error) {
	n, err := r.ArrayHeader()
	if err != nil || n == 0 {
		return nil, err
	}
	recs := make([]Record, 0, min(n, r.Remaining()/minRecordSize+1))
	for i := range n {
		recs = append(recs, Record{})
		if err := d.record(r, &recs[i], i); err != nil {
			return nil, err
		}
	}
	if cap(d.spans) > maxSpans {
		d.spans = nil
	}
	return recs, nil
}

// record decodes one record with a single string allocation: every key and
// value is a slice of one copy of the record's bytes. The copy covers only
// this record, so keeping a record never pins the rest of its frame.
func (d *decoder) record(r *msgpack.Reader, rec *Record, i int) error {
	start := r.Pos
	n, err := r.MapHeader()
	if err != nil {
		return errorf(ErrMalformed, KindData, recordField(i, ""), "%v", err)
	}
	d.spans = d.spans[:0]
	tok0, tok1 := 0, 0
	var haveTS, haveFields bool
	for j := 0; j < n; j++ {
		key, err := r.StrBytes()
		if err != nil {
			return errorf(ErrMalformed, KindData, recordField(i, ""), "key %d: %v", j, err)
		}
		switch string(key) {
		case "timestamp":
			rec.Timestamp, err = r.Int()
			haveTS = true
		case "token":
			if !r.IsNil() {
				var l int
				tok0, l, err = r.StrSpan()
				tok1 = tok0 + l
			}
		case "fields":
			haveFields = true
			if err := d.fieldSpans(r, i); err != nil {
				return err
			}
		default:
			err = r.Skip()
		}
		if err != nil {
			return errorf(ErrMalformed, KindData, recordField(i, pathKey(key)), "%v", err)
		}
	}
	switch {
	case !haveTS:
		return missing(KindData, recordField(i, "timestamp"))
	case !haveFields:
		return missing(KindData, recordField(i, "fields"))
	}
	s := string(r.Buf[start:r.Pos])
	if tok1 > 0 {
		rec.Token = s[tok0-start : tok1-start]
	}
	rec.Fields = make(map[string]string, min(len(d.spans), maxFieldsHint))
	for _, sp := range d.spans {
		rec.Fields[s[sp.k0-start:sp.k1-start]] = s[sp.v0-start : sp.v1-start]
	}
	dt, ok := rec.Fields[FieldDataType]
	switch {
	case !ok:
		return missing(KindData, recordField(i, "fields."+FieldDataType))
	case dt == "":
		return errorf(ErrMalformed, KindData, recordField(i, "fields."+FieldDataType), "must not be empty")
	}
	return nil
}

// fieldSpans records where each key and value of a record's fields map lie;
// its errors name the field, e.g. records[2].fields.host.
func (d *decoder) fieldSpans(r *msgpack.Reader, i int) error {
	n, err := r.MapHeader()
	if err != nil {
		return errorf(ErrMalformed, KindData, recordField(i, "fields"), "%v", err)
	}
	for j := 0; j < n; j++ {
		k0, kl, err := r.StrSpan()
		if err != nil {
			return errorf(ErrMalformed, KindData, recordField(i, "fields"), "key %d: %v", j, err)
		}
		v0, vl, err := r.StrSpan()
		if err != nil {
			return errorf(ErrMalformed, KindData, recordField(i, "fields."+pathKey(r.Buf[k0:k0+kl])), "%v", err)
		}
		d.spans = append(d.spans, span{k0, k0 + kl, v0, v0 + vl})
	}
	return nil
}

// pathKey renders a key from the wire for an error's field path: as it is
// when it is a plain identifier, quoted and cut short otherwise, so a hostile
// key cannot flood a log or forge its layout.
func pathKey(b []byte) string {
	const maxLen = 64
	plain := len(b) > 0 && len(b) <= maxLen
	for _, c := range b {
		if !(c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			plain = false
			break
		}
	}
	if plain {
		return string(b)
	}
	if len(b) > maxLen {
		return fmt.Sprintf("%q...", b[:maxLen])
	}
	return fmt.Sprintf("%q", b)
}

func decodeTask(r *msgpack.Reader, n int) (*Task, error) {
	m := &Task{}
	var haveID, haveToken bool
	err := fields(r, n, KindTask, func(key []byte) (bool, error) {
		var err error
		switch string(key) {
		case "id":
			var v uint64
			v, err = r.Uint(math.MaxUint32)
			m.ID, haveID = uint32(v), true
		case "content":
			if !r.IsNil() {
				m.Content, err = r.Str()
			}
		case "token":
			m.Token, err = r.Str()
			haveToken = true
		default:
			return false, nil
		}
		return true, err
	})
	switch {
	case err != nil:
		return nil, err
	case !haveID:
		return nil, missing(KindTask, "id")
	case !haveToken || m.Token == "":
		return nil, missing(KindTask, "token")
	}
	return m, nil
}

func decodePingPong(r *msgpack.Reader, n int, kind Kind) (Message, error) {
	var seq uint64
	var t int64
	var haveSeq bool
	err := fields(r, n, kind, func(key []byte) (bool, error) {
		var err error
		switch string(key) {
		case "seq":
			seq, err = r.Uint(math.MaxUint64)
			haveSeq = true
		case "time":
			if !r.IsNil() {
				t, err = r.Int()
			}
		default:
			return false, nil
		}
		return true, err
	})
	if err == nil && !haveSeq {
		err = missing(kind, "seq")
	}
	if err != nil {
		return nil, err
	}
	if kind == KindPing {
		return &Ping{Seq: seq, Time: t}, nil
	}
	return &Pong{Seq: seq, Time: t}, nil
}

func decodeGoodbye(r *msgpack.Reader, n int) (*Goodbye, error) {
	m := &Goodbye{}
	err := fields(r, n, KindGoodbye, func(key []byte) (bool, error) {
		if string(key) != "reason" {
			return false, nil
		}
		var err error
		if !r.IsNil() {
			m.Reason, err = r.Str()
		}
		return true, err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func decodeShutdown(r *msgpack.Reader, n int) (*Shutdown, error) {
	m := &Shutdown{}
	var haveGrace bool
	err := fields(r, n, KindShutdown, func(key []byte) (bool, error) {
		var err error
		switch string(key) {
		case "grace_ms":
			var v uint64
			v, err = r.Uint(math.MaxUint32)
			m.Grace, haveGrace = time.Duration(v)*time.Millisecond, true
		case "reason":
			if !r.IsNil() {
				m.Reason, err = r.Str()
			}
		default:
			return false, nil
		}
		return true, err
	})
	if err == nil && !haveGrace {
		err = missing(KindShutdown, "grace_ms")
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}
