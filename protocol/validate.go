package protocol

import (
	"fmt"
	"math"
	"time"
)

// The rules a message must meet beyond its wire types, each written once so
// that the encoder cannot drift from the decoder: the decoder refuses a frame
// with a rule's error, and the encoder refuses to send with the same error
// (through refuse), so a message Append accepts is one the peer accepts.
//
// Presence of a required field is not among them: the encoder always writes
// every required field, so only the decoder can find one missing. Nor is a
// range the decoder enforces while reading the integer, with its offset in
// the frame; there the bound is shared instead.

// maxPID bounds hello.pid on the wire (PROTOCOL.md, section 10). The decoder
// reads pid against it; checkHello holds a Go int to it.
const maxPID = math.MaxInt32

// maxMillis bounds heartbeat_ms and grace_ms on the wire, about 49 days. The
// decoder reads the fields against it; checkMillis holds a time.Duration to
// it.
const maxMillis = math.MaxUint32

// Bounds of hello's strings (PROTOCOL.md, section 10). Everything a plugin
// says of itself before it is authenticated is shown to operators and
// quoted in logs, so none of it may be long; a name is a registry name,
// which is at most 64 bytes, and an instance id is a name and a number.
const (
	MaxNameLen     = 64
	MaxInstanceLen = 80
	MaxVersionLen  = 64
)

func checkHello(m *Hello) *Error {
	switch {
	case len(m.Versions) == 0:
		return missing(KindHello, "versions")
	case m.Name == "":
		return missing(KindHello, "name")
	case m.PID < 0 || m.PID > maxPID:
		return errorf(ErrMalformed, KindHello, "pid", "%d is outside 0..%d", m.PID, maxPID)
	}
	for _, f := range [...]struct {
		field, value string
		limit        int
	}{{"name", m.Name, MaxNameLen}, {"version", m.Version, MaxVersionLen}, {"instance", m.Instance, MaxInstanceLen}} {
		if len(f.value) > f.limit {
			// The length, never the text: it is the plugin's, unbounded.
			return errorf(ErrMalformed, KindHello, f.field, "%d bytes, at most %d", len(f.value), f.limit)
		}
	}
	return nil
}

func checkWelcome(m *Welcome) *Error {
	return checkMillis(KindWelcome, "heartbeat_ms", m.Heartbeat)
}

// Bounds of a data message (PROTOCOL.md, section 10). A record decodes
// into a map, several times its size on the wire, so a frame of many tiny
// records, or a record of many tiny fields, would cost the receiver far more
// than the frame limit suggests; these keep that cost near the frame's.
const (
	MaxRecordsPerFrame = 16384
	MaxFieldsPerRecord = 1024
)

func checkData(m *Data) *Error {
	if n := len(m.Records); n > MaxRecordsPerFrame {
		return tooMany(KindData, "records", n, MaxRecordsPerFrame, "records")
	}
	return nil
}

func tooMany(kind Kind, field string, n, limit int, what string) *Error {
	return errorf(ErrMalformed, kind, field, "%d %s, at most %d", n, what, limit)
}

// checkRecord is the rule for records[i] of a data message.
func checkRecord(rec *Record, i int) *Error {
	dt, ok := rec.Fields[FieldDataType]
	switch {
	case len(rec.Fields) > MaxFieldsPerRecord:
		return tooMany(KindData, recordField(i, "fields"), len(rec.Fields), MaxFieldsPerRecord, "fields")
	case !ok:
		return missing(KindData, recordField(i, "fields."+FieldDataType))
	case dt == "":
		return errorf(ErrMalformed, KindData, recordField(i, "fields."+FieldDataType), "must not be empty")
	}
	return nil
}

func checkTask(m *Task) *Error {
	if m.Token == "" {
		return missing(KindTask, "token")
	}
	return nil
}

func checkShutdown(m *Shutdown) *Error {
	return checkMillis(KindShutdown, "grace_ms", m.Grace)
}

// checkMillis: a duration travels as whole milliseconds, so what is under a
// millisecond is dropped rather than refused, and only a negative count or
// one beyond maxMillis cannot be sent.
func checkMillis(kind Kind, field string, d time.Duration) *Error {
	if ms := d / time.Millisecond; ms < 0 || ms > maxMillis {
		return errorf(ErrMalformed, kind, field, "%v is outside 0..%dms", d, uint32(maxMillis))
	}
	return nil
}

func missing(kind Kind, field string) *Error {
	return &Error{Code: ErrMissingField, Kind: kind, Field: field}
}

// recordField is the path of a field of records[i], for errors.
func recordField(i int, name string) string {
	if name == "" {
		return fmt.Sprintf("records[%d]", i)
	}
	return fmt.Sprintf("records[%d].%s", i, name)
}
