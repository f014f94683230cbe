package protocol

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Append encodes m as a msgpack map and appends it to dst. The "kind" key is
// always written first so decoders can dispatch without scanning.
func Append(dst []byte, m Message) ([]byte, error) {
	switch m := m.(type) {
	case *Hello:
		dst = appendMapHeader(dst, 6)
		dst = appendKeyString(dst, "kind", string(KindHello))
		dst = appendUint16s(appendString(dst, "versions"), m.Versions)
		dst = appendKeyString(dst, "name", m.Name)
		dst = appendKeyString(dst, "version", m.Version)
		dst = appendInt(appendString(dst, "pid"), int64(m.PID))
		return appendKeyString(dst, "instance", m.Instance), nil
	case *Welcome:
		dst = appendMapHeader(dst, 5)
		dst = appendKeyString(dst, "kind", string(KindWelcome))
		dst = appendKeyUint(dst, "protocol", uint64(m.Protocol))
		dst = appendKeyUint(dst, "heartbeat_ms", uint64(m.Heartbeat/time.Millisecond))
		dst = appendKeyString(dst, "supervisor", m.Supervisor)
		return appendKeyUint(dst, "max_frame", uint64(m.MaxFrame)), nil
	case *Reject:
		dst = appendMapHeader(dst, 4)
		dst = appendKeyString(dst, "kind", string(KindReject))
		dst = appendKeyString(dst, "code", string(m.Code))
		dst = appendKeyString(dst, "reason", m.Reason)
		return appendUint16s(appendString(dst, "versions"), m.Versions), nil
	case *Data:
		dst = appendMapHeader(dst, 2)
		dst = appendKeyString(dst, "kind", string(KindData))
		dst = appendArrayHeader(appendString(dst, "records"), len(m.Records))
		for i := range m.Records {
			dst = appendRecord(dst, &m.Records[i])
		}
		return dst, nil
	case *Task:
		dst = appendMapHeader(dst, 4)
		dst = appendKeyString(dst, "kind", string(KindTask))
		dst = appendKeyUint(dst, "id", uint64(m.ID))
		dst = appendKeyString(dst, "content", m.Content)
		return appendKeyString(dst, "token", m.Token), nil
	case *Ping:
		return appendPingPong(dst, KindPing, m.Seq, m.Time), nil
	case *Pong:
		return appendPingPong(dst, KindPong, m.Seq, m.Time), nil
	case *Goodbye:
		dst = appendMapHeader(dst, 2)
		dst = appendKeyString(dst, "kind", string(KindGoodbye))
		return appendKeyString(dst, "reason", m.Reason), nil
	case *Shutdown:
		dst = appendMapHeader(dst, 3)
		dst = appendKeyString(dst, "kind", string(KindShutdown))
		dst = appendKeyUint(dst, "grace_ms", uint64(m.Grace/time.Millisecond))
		return appendKeyString(dst, "reason", m.Reason), nil
	case nil:
		return dst, errors.New("protocol: cannot encode a nil message")
	}
	return dst, fmt.Errorf("protocol: cannot encode %T", m)
}

func appendPingPong(dst []byte, k Kind, seq uint64, t int64) []byte {
	dst = appendMapHeader(dst, 3)
	dst = appendKeyString(dst, "kind", string(k))
	dst = appendKeyUint(dst, "seq", seq)
	return appendInt(appendString(dst, "time"), t)
}

func appendRecord(dst []byte, rec *Record) []byte {
	n := 2
	if rec.Token != "" {
		n++
	}
	dst = appendMapHeader(dst, n)
	dst = appendInt(appendString(dst, "timestamp"), rec.Timestamp)
	if rec.Token != "" {
		dst = appendKeyString(dst, "token", rec.Token)
	}
	dst = appendMapHeader(appendString(dst, "fields"), len(rec.Fields))
	for k, v := range rec.Fields {
		dst = appendKeyString(dst, k, v)
	}
	return dst
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
	r := &reader{b: payload}
	n, err := r.mapHeader()
	if err != nil {
		return nil, &Error{Code: ErrMalformed, Detail: "a message must be a msgpack map: " + err.Error()}
	}
	body := r.p
	kind, err := findKind(r, n)
	if err != nil {
		return nil, err
	}
	r.p = body
	switch kind {
	case KindHello:
		return decodeHello(r, n)
	case KindWelcome:
		return decodeWelcome(r, n)
	case KindReject:
		return decodeReject(r, n)
	case KindData:
		return d.decodeData(r, n)
	case KindTask:
		return decodeTask(r, n)
	case KindPing, KindPong:
		return decodePingPong(r, n, kind)
	case KindGoodbye:
		return decodeGoodbye(r, n)
	case KindShutdown:
		return decodeShutdown(r, n)
	}
	return nil, errorf(ErrUnknownKind, "", "kind", "%q is not a kind of protocol v%d", kind, Version)
}

// findKind returns the "kind" value; it is normally the first key, but any
// position is accepted because not every encoder keeps map order.
func findKind(r *reader, n int) (Kind, error) {
	for i := 0; i < n; i++ {
		key, err := r.strBytes()
		if err != nil {
			return "", errorf(ErrMalformed, "", "", "key %d: %v", i, err)
		}
		if string(key) != "kind" {
			if err := r.skip(0); err != nil {
				return "", errorf(ErrMalformed, "", string(key), "%v", err)
			}
			continue
		}
		k, err := r.str()
		if err != nil {
			return "", errorf(ErrMalformed, "", "kind", "%v", err)
		}
		return Kind(k), nil
	}
	return "", &Error{Code: ErrMissingField, Field: "kind"}
}

// fields walks a message's top-level map, handing each key to fn. fn reports
// whether it consumed the value; unconsumed values are skipped.
func fields(r *reader, n int, kind Kind, fn func(key []byte) (bool, error)) error {
	for i := 0; i < n; i++ {
		key, err := r.strBytes()
		if err != nil {
			return errorf(ErrMalformed, kind, "", "key %d: %v", i, err)
		}
		used, err := fn(key)
		if err == nil && !used {
			err = r.skip(0)
		}
		if err != nil {
			var pe *Error
			if errors.As(err, &pe) {
				return pe
			}
			return errorf(ErrMalformed, kind, string(key), "%v", err)
		}
	}
	return nil
}

func missing(kind Kind, field string) error {
	return &Error{Code: ErrMissingField, Kind: kind, Field: field}
}

func decodeHello(r *reader, n int) (*Hello, error) {
	m := &Hello{}
	var haveVersions, haveName, havePID bool
	err := fields(r, n, KindHello, func(key []byte) (bool, error) {
		var err error
		switch string(key) {
		case "versions":
			m.Versions, err = r.uint16s()
			haveVersions = true
		case "name":
			m.Name, err = r.str()
			haveName = true
		case "version":
			if !r.isNil() {
				m.Version, err = r.str()
			}
		case "pid":
			var v uint64
			v, err = r.uint(math.MaxInt32)
			m.PID, havePID = int(v), true
		case "instance":
			if !r.isNil() {
				m.Instance, err = r.str()
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

func decodeWelcome(r *reader, n int) (*Welcome, error) {
	m := &Welcome{}
	var haveProto, haveHB bool
	err := fields(r, n, KindWelcome, func(key []byte) (bool, error) {
		var err error
		var v uint64
		switch string(key) {
		case "protocol":
			v, err = r.uint(math.MaxUint16)
			m.Protocol, haveProto = uint16(v), true
		case "heartbeat_ms":
			v, err = r.uint(math.MaxUint32)
			m.Heartbeat, haveHB = time.Duration(v)*time.Millisecond, true
		case "supervisor":
			if !r.isNil() {
				m.Supervisor, err = r.str()
			}
		case "max_frame":
			v, err = r.uint(math.MaxUint32)
			m.MaxFrame = uint32(v)
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

func decodeReject(r *reader, n int) (*Reject, error) {
	m := &Reject{}
	var haveReason bool
	err := fields(r, n, KindReject, func(key []byte) (bool, error) {
		var err error
		var s string
		switch string(key) {
		case "code":
			if !r.isNil() {
				s, err = r.str()
				m.Code = RejectCode(s)
			}
		case "reason":
			m.Reason, err = r.str()
			haveReason = true
		case "versions":
			if !r.isNil() {
				m.Versions, err = r.uint16s()
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

func (d *decoder) decodeData(r *reader, n int) (*Data, error) {
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

func (d *decoder) records(r *reader) ([]Record, error) {
	n, err := r.arrayHeader()
	if err != nil {
		return nil, err
	}
	recs := make([]Record, n)
	for i := range recs {
		if err := d.record(r, &recs[i], i); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

// record decodes one record with a single string allocation: every key and
// value is a slice of one copy of the record's bytes. The copy covers only
// this record, so keeping a record never pins the rest of its frame.
func (d *decoder) record(r *reader, rec *Record, i int) error {
	start := r.p
	field := func(name string) string {
		if name == "" {
			return fmt.Sprintf("records[%d]", i)
		}
		return fmt.Sprintf("records[%d].%s", i, name)
	}
	n, err := r.mapHeader()
	if err != nil {
		return errorf(ErrMalformed, KindData, field(""), "%v", err)
	}
	d.spans = d.spans[:0]
	tok0, tok1 := 0, 0
	var haveTS, haveFields bool
	for j := 0; j < n; j++ {
		key, err := r.strBytes()
		if err != nil {
			return errorf(ErrMalformed, KindData, field(""), "key %d: %v", j, err)
		}
		switch string(key) {
		case "timestamp":
			rec.Timestamp, err = r.int()
			haveTS = true
		case "token":
			if !r.isNil() {
				var l int
				tok0, l, err = r.strSpan()
				tok1 = tok0 + l
			}
		case "fields":
			haveFields = true
			err = d.fieldSpans(r)
		default:
			err = r.skip(0)
		}
		if err != nil {
			return errorf(ErrMalformed, KindData, field(string(key)), "%v", err)
		}
	}
	switch {
	case !haveTS:
		return missing(KindData, field("timestamp"))
	case !haveFields:
		return missing(KindData, field("fields"))
	}
	s := string(r.b[start:r.p])
	if tok1 > 0 {
		rec.Token = s[tok0-start : tok1-start]
	}
	rec.Fields = make(map[string]string, len(d.spans))
	for _, sp := range d.spans {
		rec.Fields[s[sp.k0-start:sp.k1-start]] = s[sp.v0-start : sp.v1-start]
	}
	dt, ok := rec.Fields[FieldDataType]
	switch {
	case !ok:
		return missing(KindData, field("fields."+FieldDataType))
	case dt == "":
		return errorf(ErrMalformed, KindData, field("fields."+FieldDataType), "must not be empty")
	}
	return nil
}

func (d *decoder) fieldSpans(r *reader) error {
	n, err := r.mapHeader()
	if err != nil {
		return err
	}
	for j := 0; j < n; j++ {
		k0, kl, err := r.strSpan()
		if err != nil {
			return fmt.Errorf("key %d: %w", j, err)
		}
		v0, vl, err := r.strSpan()
		if err != nil {
			return fmt.Errorf("value of %q: %w", r.b[k0:k0+kl], err)
		}
		d.spans = append(d.spans, span{k0, k0 + kl, v0, v0 + vl})
	}
	return nil
}

func decodeTask(r *reader, n int) (*Task, error) {
	m := &Task{}
	var haveID, haveToken bool
	err := fields(r, n, KindTask, func(key []byte) (bool, error) {
		var err error
		switch string(key) {
		case "id":
			var v uint64
			v, err = r.uint(math.MaxUint32)
			m.ID, haveID = uint32(v), true
		case "content":
			if !r.isNil() {
				m.Content, err = r.str()
			}
		case "token":
			m.Token, err = r.str()
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

func decodePingPong(r *reader, n int, kind Kind) (Message, error) {
	var seq uint64
	var t int64
	var haveSeq bool
	err := fields(r, n, kind, func(key []byte) (bool, error) {
		var err error
		switch string(key) {
		case "seq":
			seq, err = r.uint(math.MaxUint64)
			haveSeq = true
		case "time":
			t, err = r.int()
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

func decodeGoodbye(r *reader, n int) (*Goodbye, error) {
	m := &Goodbye{}
	err := fields(r, n, KindGoodbye, func(key []byte) (bool, error) {
		if string(key) != "reason" {
			return false, nil
		}
		var err error
		if !r.isNil() {
			m.Reason, err = r.str()
		}
		return true, err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func decodeShutdown(r *reader, n int) (*Shutdown, error) {
	m := &Shutdown{}
	var haveGrace bool
	err := fields(r, n, KindShutdown, func(key []byte) (bool, error) {
		var err error
		switch string(key) {
		case "grace_ms":
			var v uint64
			v, err = r.uint(math.MaxUint32)
			m.Grace, haveGrace = time.Duration(v)*time.Millisecond, true
		case "reason":
			if !r.isNil() {
				m.Reason, err = r.str()
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
