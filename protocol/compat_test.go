package protocol_test

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/plugvisor/plugvisor/protocol"
)

// Cross-checks against github.com/vmihailenco/msgpack/v5, standing in for
// the msgpack library of a plugin written in another language.

// num is how the generic library's loose decoding reads an integer, after
// normalize: uint64 when non-negative, int64 otherwise.
func num(i int64) any {
	if i >= 0 {
		return uint64(i)
	}
	return i
}

// normalize makes integers comparable whatever encoding carried them.
func normalize(v any) any {
	switch v := v.(type) {
	case int64:
		return num(v)
	case map[string]any:
		for k, e := range v {
			v[k] = normalize(e)
		}
	case []any:
		for i, e := range v {
			v[i] = normalize(e)
		}
	}
	return v
}

func versions(vs []uint16) []any {
	out := []any{}
	for _, v := range vs {
		out = append(out, uint64(v))
	}
	return out
}

// wireValue is a message as PROTOCOL.md's field tables describe it, written
// out independently of the encoder.
func wireValue(m protocol.Message) map[string]any {
	switch m := m.(type) {
	case *protocol.Hello:
		return map[string]any{"kind": "hello", "versions": versions(m.Versions), "name": m.Name, "version": m.Version, "pid": num(int64(m.PID)), "instance": m.Instance}
	case *protocol.Welcome:
		return map[string]any{"kind": "welcome", "protocol": num(int64(m.Protocol)), "heartbeat_ms": num(m.Heartbeat.Milliseconds()), "supervisor": m.Supervisor, "max_frame": num(int64(m.MaxFrame))}
	case *protocol.Reject:
		return map[string]any{"kind": "reject", "code": string(m.Code), "reason": m.Reason, "versions": versions(m.Versions)}
	case *protocol.Data:
		recs := []any{}
		for _, r := range m.Records {
			fields := map[string]any{}
			for k, v := range r.Fields {
				fields[k] = v
			}
			rec := map[string]any{"timestamp": num(r.Timestamp), "fields": fields}
			if r.Token != "" {
				rec["token"] = r.Token
			}
			recs = append(recs, rec)
		}
		return map[string]any{"kind": "data", "records": recs}
	case *protocol.Task:
		return map[string]any{"kind": "task", "id": num(int64(m.ID)), "content": m.Content, "token": m.Token}
	case *protocol.Ping:
		return map[string]any{"kind": "ping", "seq": m.Seq, "time": num(m.Time)}
	case *protocol.Pong:
		return map[string]any{"kind": "pong", "seq": m.Seq, "time": num(m.Time)}
	case *protocol.Goodbye:
		return map[string]any{"kind": "goodbye", "reason": m.Reason}
	case *protocol.Shutdown:
		return map[string]any{"kind": "shutdown", "grace_ms": num(m.Grace.Milliseconds()), "reason": m.Reason}
	}
	panic(fmt.Sprintf("wireValue: %T", m))
}

func decodeGeneric(t *testing.T, b []byte) any {
	t.Helper()
	d := msgpack.NewDecoder(bytes.NewReader(b))
	d.UseLooseInterfaceDecoding(true)
	v, err := d.DecodeInterface()
	if err != nil {
		t.Fatalf("generic decode: %v", err)
	}
	return normalize(v)
}

// TestGenericReadsOurs: the generic library reads our encoding of every
// example as the field tables say.
func TestGenericReadsOurs(t *testing.T) {
	for _, ex := range examples() {
		p, err := protocol.Append(nil, ex.Msg)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := decodeGeneric(t, p), any(wireValue(ex.Msg)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the generic library reads\n%#v\nwant\n%#v", ex.Title, got, want)
		}
	}
}

// toPlain turns an ordered value into plain Go maps, whose key order the
// generic encoder chooses (randomly, unless told to sort).
func toPlain(v any) any {
	switch v := v.(type) {
	case omap:
		m := map[string]any{}
		for _, p := range v {
			m[p.K] = toPlain(p.V)
		}
		return m
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = toPlain(e)
		}
		return out
	}
	return v
}

// reverseAll puts every map's keys in the opposite order, "kind" last.
func reverseAll(v any) any {
	switch v := v.(type) {
	case omap:
		out := omap{}
		for _, p := range v.reversed() {
			out = append(out, kv{p.K, reverseAll(p.V)})
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = reverseAll(e)
		}
		return out
	}
	return v
}

// TestOursReadsGeneric: every example, encoded by the generic library from
// plain maps (keys in random order, ints as 9-byte int64/uint64 or compact),
// with every map reversed (kind last), or with sorted keys, decodes to the
// same message.
func TestOursReadsGeneric(t *testing.T) {
	for _, ex := range examples() {
		ordered, err := decodeOrdered(exampleFrame(t, ex.Msg)[protocol.HeaderSize:])
		if err != nil {
			t.Fatal(err)
		}
		var sorted bytes.Buffer
		e := msgpack.NewEncoder(&sorted)
		e.SetSortMapKeys(true)
		if err := e.Encode(toPlain(ordered)); err != nil {
			t.Fatal(err)
		}
		variants := map[string][]byte{
			"reversed":           encodeGeneric(t, reverseAll(ordered), true),
			"reversed, wide":     encodeGeneric(t, reverseAll(ordered), false),
			"sorted keys":        sorted.Bytes(),
			"plain, compact":     encodeGeneric(t, toPlain(ordered), true),
			"plain, 9-byte ints": encodeGeneric(t, toPlain(ordered), false),
		}
		for i := range 20 { // plain maps come out in a new order each time
			variants[fmt.Sprintf("plain %d", i)] = encodeGeneric(t, toPlain(ordered), i%2 == 0)
		}
		for name, p := range variants {
			m, err := protocol.Decode(p)
			if err != nil || !reflect.DeepEqual(m, ex.Msg) {
				t.Errorf("%s, %s: decodes to %v, %v; want %s", ex.Title, name, m, err, goLiteral(ex.Msg))
			}
		}
	}
}

// TestCanonicalEncoding: our bytes are exactly what the generic library
// writes for the same values in the same order with shortest encodings, at
// every size boundary of integers, strings, arrays and maps.
func TestCanonicalEncoding(t *testing.T) {
	var msgs []protocol.Message
	for _, ex := range examples() {
		msgs = append(msgs, ex.Msg)
	}
	for _, u := range []uint64{0, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxUint64} {
		msgs = append(msgs, &protocol.Ping{Seq: u})
	}
	for _, i := range []int64{-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1, math.MinInt64, math.MaxInt64, 127, 128} {
		msgs = append(msgs, &protocol.Pong{Seq: 1, Time: i})
	}
	for _, n := range []int{0, 31, 32, 255, 256, 65535, 65536} {
		msgs = append(msgs, &protocol.Goodbye{Reason: strings.Repeat("r", n)})
	}
	// Records and fields stop at their limits (MaxRecordsPerFrame,
	// MaxFieldsPerRecord), below the 32-bit headers; hello.versions still
	// reaches an array32.
	for _, n := range []int{15, 16, protocol.MaxRecordsPerFrame} {
		recs := make([]protocol.Record, n)
		for i := range recs {
			recs[i] = protocol.Record{Fields: map[string]string{"data_type": "x"}}
		}
		msgs = append(msgs, &protocol.Data{Records: recs})
	}
	for _, n := range []int{15, 16, protocol.MaxFieldsPerRecord} {
		fields := map[string]string{"data_type": "x"}
		for i := len(fields); i < n; i++ {
			fields[fmt.Sprint(i)] = ""
		}
		msgs = append(msgs, &protocol.Data{Records: []protocol.Record{{Fields: fields}}})
	}
	for _, n := range []int{15, 16, 65536} {
		vs := make([]uint16, n)
		for i := range vs {
			vs[i] = uint16(i)
		}
		msgs = append(msgs, &protocol.Hello{Versions: vs, Name: "n"})
	}
	for _, m := range msgs {
		ours, err := protocol.Append(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		ordered, err := decodeOrdered(ours)
		if err != nil {
			t.Fatalf("%s: the generic library cannot read our encoding: %v", m.Kind(), err)
		}
		if generic := encodeGeneric(t, ordered, true); !bytes.Equal(ours, generic) {
			t.Errorf("%s (%d bytes): ours differs from the generic library's shortest encoding at byte %d", m.Kind(), len(ours), firstDifference(ours, generic))
		}
		if back, err := protocol.Decode(ours); err != nil || !reflect.DeepEqual(back, m) {
			t.Errorf("%s (%d bytes): does not decode to itself: %v", m.Kind(), len(ours), err)
		}
	}
}

func firstDifference(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestIntegerWidths: an integer field accepts every msgpack integer encoding
// of a value in its range, as a peer's library may pick any of them.
func TestIntegerWidths(t *testing.T) {
	type enc func(*msgpack.Encoder) error
	ping := func(t *testing.T, seq, tm enc) (*protocol.Ping, error) {
		var buf bytes.Buffer
		e := msgpack.NewEncoder(&buf)
		e.EncodeMapLen(3)
		e.EncodeString("kind")
		e.EncodeString("ping")
		e.EncodeString("seq")
		seq(e)
		e.EncodeString("time")
		tm(e)
		m, err := protocol.Decode(buf.Bytes())
		if err != nil {
			return nil, err
		}
		return m.(*protocol.Ping), nil
	}
	zero := func(e *msgpack.Encoder) error { return e.EncodeInt(0) }
	for name, seq := range map[string]enc{
		"fixint": func(e *msgpack.Encoder) error { return e.EncodeUint(100) },
		"uint8":  func(e *msgpack.Encoder) error { return e.EncodeUint8(100) },
		"uint16": func(e *msgpack.Encoder) error { return e.EncodeUint16(100) },
		"uint32": func(e *msgpack.Encoder) error { return e.EncodeUint32(100) },
		"uint64": func(e *msgpack.Encoder) error { return e.EncodeUint64(100) },
		"int8":   func(e *msgpack.Encoder) error { return e.EncodeInt8(100) },
		"int16":  func(e *msgpack.Encoder) error { return e.EncodeInt16(100) },
		"int32":  func(e *msgpack.Encoder) error { return e.EncodeInt32(100) },
		"int64":  func(e *msgpack.Encoder) error { return e.EncodeInt64(100) },
	} {
		if p, err := ping(t, seq, zero); err != nil || p.Seq != 100 {
			t.Errorf("seq 100 as %s: %v, %v", name, p, err)
		}
	}
	for name, tm := range map[string]enc{
		"negative fixint": func(e *msgpack.Encoder) error { return e.EncodeInt(-5) },
		"int8":            func(e *msgpack.Encoder) error { return e.EncodeInt8(-5) },
		"int16":           func(e *msgpack.Encoder) error { return e.EncodeInt16(-5) },
		"int32":           func(e *msgpack.Encoder) error { return e.EncodeInt32(-5) },
		"int64":           func(e *msgpack.Encoder) error { return e.EncodeInt64(-5) },
	} {
		if p, err := ping(t, zero, tm); err != nil || p.Time != -5 {
			t.Errorf("time -5 as %s: %v, %v", name, p, err)
		}
	}
	if p, err := ping(t, func(e *msgpack.Encoder) error { return e.EncodeUint64(math.MaxUint64) }, zero); err != nil || p.Seq != math.MaxUint64 {
		t.Errorf("seq 2^64-1: %v, %v", p, err)
	}
	if p, err := ping(t, zero, func(e *msgpack.Encoder) error { return e.EncodeUint64(math.MaxInt64) }); err != nil || p.Time != math.MaxInt64 {
		t.Errorf("time 2^63-1 as uint64: %v, %v", p, err)
	}
	_, err := ping(t, zero, func(e *msgpack.Encoder) error { return e.EncodeUint64(math.MaxInt64 + 1) })
	checkProtocolError(t, err, protocol.ErrMalformed, "time", "value 9223372036854775808 overflows int64")
}
