package protocol

import (
	"errors"
	"fmt"
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
		if e := checkHello(m); e != nil {
			return dst, refuse(e)
		}
		dst = msgpack.AppendMapHeader(dst, 6)
		dst = msgpack.AppendKeyString(dst, "kind", string(KindHello))
		dst = msgpack.AppendUint16s(msgpack.AppendString(dst, "versions"), m.Versions)
		dst = msgpack.AppendKeyString(dst, "name", m.Name)
		dst = msgpack.AppendKeyString(dst, "version", m.Version)
		dst = msgpack.AppendInt(msgpack.AppendString(dst, "pid"), int64(m.PID))
		return msgpack.AppendKeyString(dst, "instance", m.Instance), nil
	case *Welcome:
		if e := checkWelcome(m); e != nil {
			return dst, refuse(e)
		}
		dst = msgpack.AppendMapHeader(dst, 5)
		dst = msgpack.AppendKeyString(dst, "kind", string(KindWelcome))
		dst = msgpack.AppendKeyUint(dst, "protocol", uint64(m.Protocol))
		dst = msgpack.AppendKeyUint(dst, "heartbeat_ms", wireMillis(m.Heartbeat))
		dst = msgpack.AppendKeyString(dst, "supervisor", m.Supervisor)
		return msgpack.AppendKeyUint(dst, "max_frame", uint64(m.MaxFrame)), nil
	case *Reject:
		dst = msgpack.AppendMapHeader(dst, 4)
		dst = msgpack.AppendKeyString(dst, "kind", string(KindReject))
		dst = msgpack.AppendKeyString(dst, "code", string(m.Code))
		dst = msgpack.AppendKeyString(dst, "reason", m.Reason)
		return msgpack.AppendUint16s(msgpack.AppendString(dst, "versions"), m.Versions), nil
	case *Data:
		if e := checkData(m); e != nil {
			return dst, refuse(e)
		}
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
	case *EncodedData:
		if n := len(m.Records); n > MaxRecordsPerFrame {
			return dst, refuse(tooMany(KindData, "records", n, MaxRecordsPerFrame, "records"))
		}
		dst = msgpack.AppendMapHeader(dst, 2)
		dst = msgpack.AppendKeyString(dst, "kind", string(KindData))
		dst = msgpack.AppendArrayHeader(msgpack.AppendString(dst, "records"), len(m.Records))
		for i, r := range m.Records {
			if len(r.b) == 0 { // the zero EncodedRecord, not one EncodeRecord made
				return dst, refuse(errorf(ErrMalformed, KindData, recordField(i, ""), "an empty encoded record: records are made by EncodeRecord"))
			}
			dst = append(dst, r.b...)
		}
		return dst, nil
	case *Task:
		if e := checkTask(m); e != nil {
			return dst, refuse(e)
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
		if e := checkShutdown(m); e != nil {
			return dst, refuse(e)
		}
		dst = msgpack.AppendMapHeader(dst, 3)
		dst = msgpack.AppendKeyString(dst, "kind", string(KindShutdown))
		dst = msgpack.AppendKeyUint(dst, "grace_ms", wireMillis(m.Grace))
		return msgpack.AppendKeyString(dst, "reason", m.Reason), nil
	case nil:
		return dst, errors.New("protocol: cannot encode a nil message")
	}
	return dst, fmt.Errorf("protocol: cannot encode %T", m)
}

// refuse is the encoder's twin of a decode error: the same code and field,
// said before the frame leaves rather than after it arrives. e is the fresh
// error of a check, so it is reworded in place.
func refuse(e *Error) error {
	const notSent = "not sent: the peer would reject it"
	if e.Detail == "" {
		e.Detail = notSent
	} else {
		e.Detail += "; " + notSent
	}
	return e
}

// wireMillis is a duration that checkMillis accepted, in the wire's unit.
func wireMillis(d time.Duration) uint64 { return uint64(d / time.Millisecond) }

func appendPingPong(dst []byte, k Kind, seq uint64, t int64) []byte {
	dst = msgpack.AppendMapHeader(dst, 3)
	dst = msgpack.AppendKeyString(dst, "kind", string(k))
	dst = msgpack.AppendKeyUint(dst, "seq", seq)
	return msgpack.AppendInt(msgpack.AppendString(dst, "time"), t)
}

func appendRecord(dst []byte, rec *Record, i int) ([]byte, error) {
	if e := checkRecord(rec, i); e != nil {
		return dst, refuse(e)
	}
	return appendRecordBody(dst, rec.Timestamp, rec.Token, rec.Fields, ""), nil
}

// appendRecordBody encodes a checked record; a non-empty status is one more
// field, task_status.
func appendRecordBody(dst []byte, timestamp int64, token string, fields map[string]string, status Status) []byte {
	n := 2
	if token != "" {
		n++
	}
	dst = msgpack.AppendMapHeader(dst, n)
	dst = msgpack.AppendInt(msgpack.AppendString(dst, "timestamp"), timestamp)
	if token != "" {
		dst = msgpack.AppendKeyString(dst, "token", token)
	}
	nf := len(fields)
	if status != "" {
		nf++
	}
	dst = msgpack.AppendMapHeader(msgpack.AppendString(dst, "fields"), nf)
	for k, v := range fields {
		dst = msgpack.AppendKeyString(dst, k, v)
	}
	if status != "" {
		dst = msgpack.AppendKeyString(dst, FieldTaskStatus, string(status))
	}
	return dst
}
