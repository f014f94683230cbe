package control

import (
	"bytes"
	"fmt"
	"math"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	mp "github.com/plugvisor/plugvisor/internal/msgpack"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// The frames of a task's round trip (the request, the response carrying a
// Reply) are encoded and decoded by hand: the generic reflective path costs
// more than the rest of the control layer together (see BENCHMARKS.md). The
// keys and omitempty rules are exactly the json tags', so the generic
// library reads what these write and the other way round; the tests check
// both directions.

// encodeTo writes v's msgpack into buf: by hand for the frames of the hot
// paths (requests, responses, events), with the generic encoder for any
// other value and for results other than a Reply.
func encodeTo(buf *bytes.Buffer, enc *msgpack.Encoder, v any) error {
	var rest any
	b := buf.AvailableBuffer()
	switch v := v.(type) {
	case *Request:
		b = appendRequest(b, v)
	case *EventFrame:
		b = appendEventFrame(b, v)
	case *Response:
		b, rest = appendResponse(b, v)
	default:
		rest = v
	}
	buf.Write(b)
	if rest == nil {
		return nil
	}
	enc.ResetWriter(buf)
	return enc.Encode(rest)
}

func appendRequest(b []byte, r *Request) []byte {
	b = mp.AppendMapHeader(b, 2+count(r.Op != "", r.Name != "", r.TaskID != 0, r.Content != "", r.Token != "",
		r.Timeout != 0, r.N != 0, r.Buffer != 0, len(r.Versions) > 0, r.Client != "", len(r.Types) > 0))
	b = mp.AppendKeyString(b, "kind", string(r.Kind))
	b = mp.AppendKeyUint(b, "id", r.ID)
	b = optStr(b, "op", string(r.Op))
	b = optStr(b, "name", r.Name)
	b = optUint(b, "task_id", uint64(r.TaskID))
	b = optStr(b, "content", r.Content)
	b = optStr(b, "token", r.Token)
	b = optInt(b, "timeout", int64(r.Timeout))
	b = optInt(b, "n", int64(r.N))
	b = optInt(b, "buffer", int64(r.Buffer))
	if len(r.Versions) > 0 {
		b = mp.AppendUint16s(mp.AppendString(b, "versions"), r.Versions)
	}
	b = optStr(b, "client", r.Client)
	if len(r.Types) > 0 {
		b = mp.AppendArrayHeader(mp.AppendString(b, "types"), len(r.Types))
		for _, t := range r.Types {
			b = mp.AppendString(b, t)
		}
	}
	return b
}

// decodeRequest decodes a client's frame. Unknown keys are skipped: a newer
// client's extra arguments do not break an older server.
func decodeRequest(payload []byte, q *Request) error {
	r := newReader(payload)
	err := r.fields("request", func(key []byte) error {
		var err error
		var v int64
		switch string(key) {
		case "kind":
			var b []byte
			b, err = r.StrBytes()
			q.Kind = kindOf(b)
		case "id":
			q.ID, err = r.Uint(math.MaxUint64)
		case "op":
			var b []byte
			b, err = r.StrBytes()
			q.Op = opOf(b)
		case "name":
			q.Name, err = r.Str()
		case "task_id":
			var id uint64
			id, err = r.Uint(math.MaxUint32)
			q.TaskID = uint32(id)
		case "content":
			q.Content, err = r.Str()
		case "token":
			q.Token, err = r.Str()
		case "timeout":
			v, err = r.Int()
			q.Timeout = time.Duration(v)
		case "n":
			v, err = r.Int()
			q.N = int(v)
		case "buffer":
			v, err = r.Int()
			q.Buffer = int(v)
		case "versions":
			q.Versions, err = r.Uint16s()
		case "client":
			q.Client, err = r.Str()
		case "types":
			q.Types, err = r.strings(len(supervisor.HistoryTypes()))
		default:
			err = r.Skip()
		}
		return err
	})
	return trailing(r, err)
}

// strings reads an array of strings, keeping at most limit+1 of them: the
// count is the sender's word (a frame of one-byte strings claims millions),
// and one past the limit is enough for the request's check to refuse it.
// The rest are read and let go, so the frame still decodes whole.
func (r *reader) strings(limit int) ([]string, error) {
	n, err := r.ArrayHeader()
	if err != nil || n == 0 {
		return nil, err
	}
	out := make([]string, 0, min(n, limit+1))
	for i := range n {
		if i > limit {
			err = r.Skip()
		} else {
			var s string
			s, err = r.Str()
			out = append(out, s)
		}
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return out, nil
}

// trailing refuses bytes after the message: a sender that wrote them meant
// something this decoder did not read.
func trailing(r *reader, err error) error {
	if err == nil && r.Remaining() > 0 {
		err = fmt.Errorf("%d bytes after the message", r.Remaining())
	}
	return err
}

// kindOf and opOf return the constants for known names without allocating.
func kindOf(b []byte) Kind {
	for _, k := range []Kind{KindRequest, KindResponse, KindEvent, KindCancel} {
		if string(k) == string(b) {
			return k
		}
	}
	return Kind(b)
}

func opOf(b []byte) Op {
	if string(b) == string(OpSendTask) {
		return OpSendTask
	}
	return Op(b)
}

// appendResponse writes a response. A result other than a Reply is left
// for the generic encoder: the map's last key, "result", is written and the
// value returned.
func appendResponse(b []byte, r *Response) ([]byte, any) {
	b = mp.AppendMapHeader(b, 2+count(r.Error != nil, r.Result != nil, r.Omitted > 0))
	b = mp.AppendKeyString(b, "kind", string(r.Kind))
	b = mp.AppendKeyUint(b, "id", r.ID)
	if r.Omitted > 0 {
		b = mp.AppendKeyUint(b, "omitted", uint64(r.Omitted))
	}
	if r.Error != nil {
		b = mp.AppendMapHeader(mp.AppendString(b, "error"), 2)
		b = mp.AppendKeyString(b, "code", string(r.Error.Code))
		b = mp.AppendKeyString(b, "message", r.Error.Message)
	}
	if r.Result == nil {
		return b, nil
	}
	b = mp.AppendString(b, "result")
	switch res := r.Result.(type) {
	case *supervisor.Reply:
		return appendReply(b, res), nil
	case []supervisor.Event:
		// By hand, as events are streamed: the generic encoder would write
		// a zero Log into every event that has none.
		b = mp.AppendArrayHeader(b, len(res))
		for i := range res {
			b = appendEvent(b, &res[i])
		}
		return b, nil
	}
	return b, r.Result
}

// decodeResult decodes a result into out: a Reply by hand, anything else
// with the generic decoder.
func (r *reader) result(out any) error {
	if rep, ok := out.(*supervisor.Reply); ok {
		return r.reply(rep)
	}
	raw, err := r.Raw()
	if err != nil {
		return err
	}
	dec := newDecoder()
	dec.ResetReader(bytes.NewReader(raw))
	return dec.Decode(out)
}

func appendReply(b []byte, r *supervisor.Reply) []byte {
	b = mp.AppendMapHeader(b, 7+count(len(r.Records) > 0, r.Error != "", r.Dropped != 0, r.DroppedBytes != 0))
	b = mp.AppendKeyString(b, "plugin", r.Plugin)
	b = mp.AppendKeyString(b, "instance", r.Instance)
	b = mp.AppendKeyUint(b, "id", uint64(r.ID))
	b = mp.AppendKeyString(b, "token", r.Token)
	b = mp.AppendKeyString(b, "outcome", string(r.Outcome))
	if len(r.Records) > 0 {
		b = appendRecords(mp.AppendString(b, "records"), r.Records)
	}
	b = mp.AppendKeyString(b, "status", r.Status)
	b = optStr(b, "error", r.Error)
	b = optInt(b, "dropped", int64(r.Dropped))
	b = optInt(b, "dropped_bytes", r.DroppedBytes)
	return mp.AppendKeyInt(b, "rtt", int64(r.RTT))
}

func (r *reader) reply(rep *supervisor.Reply) error {
	return r.fields("reply", func(key []byte) error {
		var err error
		switch string(key) {
		case "plugin":
			rep.Plugin, err = r.Str()
		case "instance":
			rep.Instance, err = r.Str()
		case "id":
			var id uint64
			id, err = r.Uint(math.MaxUint32)
			rep.ID = uint32(id)
		case "token":
			rep.Token, err = r.Str()
		case "outcome":
			var o string
			o, err = r.Str()
			rep.Outcome = supervisor.Outcome(o)
		case "records":
			rep.Records, err = r.records()
		case "status":
			rep.Status, err = r.Str()
		case "error":
			rep.Error, err = r.Str()
		case "dropped":
			var v uint64
			v, err = r.Uint(math.MaxInt32)
			rep.Dropped = int(v)
		case "dropped_bytes":
			rep.DroppedBytes, err = r.Int()
		case "rtt":
			var v int64
			v, err = r.Int()
			rep.RTT = time.Duration(v)
		default:
			err = r.Skip()
		}
		return err
	})
}

func appendRecords(b []byte, recs []protocol.Record) []byte {
	b = mp.AppendArrayHeader(b, len(recs))
	for i := range recs {
		rec := &recs[i]
		b = mp.AppendMapHeader(b, 2+count(rec.Token != ""))
		b = mp.AppendKeyInt(b, "timestamp", rec.Timestamp)
		b = optStr(b, "token", rec.Token)
		b = mp.AppendMapHeader(mp.AppendString(b, "fields"), len(rec.Fields))
		for k, v := range rec.Fields {
			b = mp.AppendKeyString(b, k, v)
		}
	}
	return b
}

func (r *reader) records() ([]protocol.Record, error) {
	n, err := r.ArrayHeader()
	if err != nil || n == 0 {
		return nil, err
	}
	recs := make([]protocol.Record, n)
	for i := range recs {
		if err := r.record(&recs[i]); err != nil {
			return nil, fmt.Errorf("records[%d]: %w", i, err)
		}
	}
	return recs, nil
}

func (r *reader) record(rec *protocol.Record) error {
	return r.fields("record", func(key []byte) error {
		var err error
		switch string(key) {
		case "timestamp":
			rec.Timestamp, err = r.Int()
		case "token":
			rec.Token, err = r.Str()
		case "fields":
			rec.Fields, err = r.stringMap()
		default:
			err = r.Skip()
		}
		return err
	})
}

func (r *reader) stringMap() (map[string]string, error) {
	n, err := r.MapHeader()
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, n)
	for range n {
		k, err := r.Str()
		if err != nil {
			return nil, err
		}
		if m[k], err = r.Str(); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	return m, nil
}

// appendEventFrame writes an event by hand: events stream at the rate
// plugins produce records, and the hand path honours Log's omitzero, which
// the generic encoder does not know.
func appendEventFrame(b []byte, f *EventFrame) []byte {
	b = mp.AppendMapHeader(b, 3)
	b = mp.AppendKeyString(b, "kind", string(f.Kind))
	b = mp.AppendKeyUint(b, "id", f.ID)
	b = mp.AppendString(b, "event")
	if f.Event == nil {
		return append(b, 0xc0)
	}
	return appendEvent(b, f.Event)
}

func appendEvent(b []byte, e *supervisor.Event) []byte {
	hasLog := e.Log != (supervisor.LogLine{})
	b = mp.AppendMapHeader(b, 4+count(e.State != "", e.Prev != "", e.Reason != "", e.Exit != nil, hasLog, len(e.Records) > 0,
		e.Task != nil, e.RTT != 0, e.Dropped != 0, e.SupervisorLog != nil))
	b = mp.AppendKeyString(b, "type", string(e.Type))
	b = mp.AppendKeyTime(b, "time", e.Time)
	b = mp.AppendKeyString(b, "plugin", e.Plugin)
	b = mp.AppendKeyString(b, "instance", e.Instance)
	b = optStr(b, "state", string(e.State))
	b = optStr(b, "prev", string(e.Prev))
	b = optStr(b, "reason", e.Reason)
	if x := e.Exit; x != nil {
		b = mp.AppendMapHeader(mp.AppendString(b, "exit"), 3+count(x.Signal != "", x.Limit != ""))
		b = mp.AppendKeyTime(b, "time", x.Time)
		b = mp.AppendKeyInt(b, "code", int64(x.Code))
		b = optStr(b, "signal", x.Signal)
		b = mp.AppendKeyString(b, "reason", x.Reason)
		b = optStr(b, "limit", x.Limit)
	}
	if hasLog {
		b = mp.AppendMapHeader(mp.AppendString(b, "log"), 4)
		b = mp.AppendKeyTime(b, "time", e.Log.Time)
		b = mp.AppendKeyString(b, "instance", e.Log.Instance)
		b = mp.AppendKeyString(b, "stream", string(e.Log.Stream))
		b = mp.AppendKeyString(b, "text", e.Log.Text)
	}
	if len(e.Records) > 0 {
		b = appendRecords(mp.AppendString(b, "records"), e.Records)
	}
	if t := e.Task; t != nil {
		b = mp.AppendMapHeader(mp.AppendString(b, "task"), 6+count(t.Detail != ""))
		b = mp.AppendKeyTime(b, "sent", t.Sent)
		b = mp.AppendKeyUint(b, "id", uint64(t.ID))
		b = mp.AppendKeyString(b, "token", t.Token)
		b = mp.AppendKeyString(b, "content", t.Content)
		b = mp.AppendKeyString(b, "outcome", string(t.Outcome))
		b = appendReply(mp.AppendString(b, "reply"), &t.Reply)
		b = optStr(b, "detail", t.Detail)
	}
	b = optInt(b, "rtt", int64(e.RTT))
	b = optUint(b, "dropped", e.Dropped)
	if l := e.SupervisorLog; l != nil {
		b = mp.AppendMapHeader(mp.AppendString(b, "supervisor_log"), 2+count(l.Attrs != ""))
		b = mp.AppendKeyString(b, "level", l.Level)
		b = mp.AppendKeyString(b, "message", l.Message)
		b = optStr(b, "attrs", l.Attrs)
	}
	return b
}
