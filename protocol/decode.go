package protocol

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/plugvisor/plugvisor/internal/msgpack"
)

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
	spans   []span
	pending []pendingRecord
}

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
	return nil, errorf(ErrUnknownKind, "", "kind", "%s is not a kind of protocol v%d", quoted(kind), Version)
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

func decodeHello(r *msgpack.Reader, n int) (*Hello, error) {
	m := &Hello{}
	var havePID bool
	err := fields(r, n, KindHello, func(key []byte) (bool, error) {
		var err error
		switch string(key) {
		case "versions":
			m.Versions, err = r.Uint16s()
		case "name":
			m.Name, err = r.Str()
		case "version":
			if !r.IsNil() {
				m.Version, err = r.Str()
			}
		case "pid":
			var v uint64
			v, err = r.Uint(maxPID)
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
	// An absent versions or name is left empty, which checkHello refuses as
	// missing, before the absent pid it cannot see.
	if err != nil {
		return nil, err
	}
	if e := checkHello(m); e != nil {
		return nil, e
	}
	if !havePID {
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
			v, err = r.Uint(maxMillis)
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

// pathKey renders a key from the wire for an error's field path: as it is
// when it is a plain identifier, quoted and cut short otherwise, so a hostile
// key cannot flood a log or forge its layout.
// quoted is b quoted, and cut short when long: it comes from the peer.
func quoted(b []byte) string {
	const maxLen = 64
	if len(b) > maxLen {
		return fmt.Sprintf("%q...", b[:maxLen])
	}
	return fmt.Sprintf("%q", b)
}

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
	return quoted(b)
}

func decodeTask(r *msgpack.Reader, n int) (*Task, error) {
	m := &Task{}
	var haveID bool
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
	}
	if e := checkTask(m); e != nil {
		return nil, e
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
			v, err = r.Uint(maxMillis)
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
