package protocol_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/plugvisor/plugvisor/protocol"
)

// badPayload is a frame payload every receiver must refuse: with code, with
// Error.Field exactly field, and with an error text containing each of want
// (field paths, lengths, byte offsets: what a person needs to find the fault).
type badPayload struct {
	name    string
	payload []byte
	code    protocol.ErrorCode
	field   string
	want    []string
}

type raw = msgpack.RawMessage

func enc(t testing.TB, v any) []byte { return encodeGeneric(t, v, true) }

// at is the offset at which the last value of payload begins when that
// value encodes as last: the bad values below are placed last so their
// offsets can be computed rather than typed.
func at(payload, last []byte) string { return fmt.Sprintf("at byte %d", len(payload)-len(last)) }

// Wire forms of well-formed messages, to break one part at a time.
func recordMap(dataType any) omap {
	return omap{{"timestamp", exampleTime}, {"fields", omap{{"data_type", dataType}}}}
}

func dataMap(records ...any) omap { return omap{{"kind", "data"}, {"records", records}} }

// checkProtocolError asserts err's code, field and text.
func checkProtocolError(t testing.TB, err error, code protocol.ErrorCode, field string, want ...string) {
	t.Helper()
	if !errors.Is(err, code) {
		t.Fatalf("error %v; want errors.Is(err, %q)", err, code)
	}
	pe, ok := errors.AsType[*protocol.Error](err)
	if !ok {
		t.Fatalf("error %T is not a *protocol.Error", err)
	}
	if pe.Field != field {
		t.Errorf("Field = %q, want %q (error: %v)", pe.Field, field, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

// checkBadPayloads runs a class of bad payloads through Decode and, framed,
// through a Conn on a real socket that shares its listener with a healthy
// connection: the bad connection fails with the same error, alone.
func checkBadPayloads(t *testing.T, cases []badPayload) {
	s := newServer(t)
	h := newHealthy(t, s)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := protocol.Decode(c.payload)
			if err == nil {
				t.Fatalf("Decode accepted %#v", m)
			}
			checkProtocolError(t, err, c.code, c.field, c.want...)
			if serr := refuseStream(t, s, h, frame(c.payload), protocol.Options{}); serr.Error() != err.Error() {
				t.Errorf("over a socket: %v\nfrom Decode:   %v", serr, err)
			}
		})
	}
}

func notAMapCases(t testing.TB) []badPayload {
	ping := enc(t, omap{{"kind", "ping"}, {"seq", 1}})
	return []badPayload{
		{"not a map: array", enc(t, []any{"kind", "ping"}), protocol.ErrMalformed, "", []string{"a message must be a msgpack map: want map, got array (0x92) at byte 0"}},
		{"not a map: string", enc(t, "ping"), protocol.ErrMalformed, "", []string{"want map, got string (0xa4) at byte 0"}},
		{"not a map: integer", enc(t, 7), protocol.ErrMalformed, "", []string{"want map, got integer (0x07) at byte 0"}},
		{"not a map: nil", enc(t, nil), protocol.ErrMalformed, "", []string{"want map, got nil (0xc0) at byte 0"}},
		{"not a map: binary", enc(t, []byte("ping")), protocol.ErrMalformed, "", []string{"want map, got binary (0xc4) at byte 0"}},
		{"not a map: two maps", append(append([]byte{}, ping...), ping...), protocol.ErrMalformed, "",
			[]string{"ping: ", fmt.Sprintf("the message ends at byte %d but the payload has %d more", len(ping), len(ping))}},
	}
}

func TestNotAMap(t *testing.T) { checkBadPayloads(t, notAMapCases(t)) }

func invalidByteCases(t testing.TB) []badPayload {
	c1 := raw{0xc1}
	known := enc(t, omap{{"kind", "ping"}, {"time", 5}, {"seq", c1}})
	unknown := enc(t, omap{{"kind", "ping"}, {"seq", 1}, {"extra", c1}})
	first := enc(t, omap{{"extra", c1}, {"kind", "ping"}, {"seq", 1}})
	key := append(append(append([]byte{0x82}, enc(t, "kind")...), enc(t, "ping")...), 0xc1, 0x01)
	inRecord := enc(t, dataMap(omap{{"timestamp", 1}, {"fields", omap{{"data_type", "cpu"}, {"host", c1}}}}))
	return []badPayload{
		{"0xc1: the payload", []byte{0xc1}, protocol.ErrMalformed, "", []string{"want map, got reserved byte (0xc1) at byte 0"}},
		{"0xc1: a known field", known, protocol.ErrMalformed, "seq", []string{"ping: field seq: want unsigned integer, got reserved byte (0xc1) " + at(known, c1)}},
		{"0xc1: an unknown field", unknown, protocol.ErrMalformed, "extra", []string{"want a msgpack value, got reserved byte (0xc1) " + at(unknown, c1)}},
		{"0xc1: before kind", first, protocol.ErrMalformed, "extra", []string{fmt.Sprintf("got reserved byte (0xc1) at byte %d", 1+len(enc(t, "extra")))}},
		{"0xc1: a key", key, protocol.ErrMalformed, "", []string{"ping: key 1: want string, got reserved byte (0xc1) " + fmt.Sprintf("at byte %d", len(key)-2)}},
		{"0xc1: a record's field", inRecord, protocol.ErrMalformed, "records[0].fields.host", []string{"want string, got reserved byte (0xc1) " + at(inRecord, c1)}},
	}
}

func TestInvalidMsgpack(t *testing.T) { checkBadPayloads(t, invalidByteCases(t)) }

// wrongType builds a case whose last field carries a value of the wrong type.
func wrongType(t testing.TB, name string, m omap, field, want string) badPayload {
	p := enc(t, m)
	return badPayload{"wrong type: " + name, p, protocol.ErrMalformed, field, []string{want + " " + at(p, enc(t, m[len(m)-1].V))}}
}

func wrongTypeCases(t testing.TB) []badPayload {
	hello := omap{{"kind", "hello"}, {"versions", []any{1}}, {"name", "cpu"}, {"pid", 1}}
	task := omap{{"kind", "task"}, {"id", 7}, {"content", "uptime"}, {"token", "t-1"}}
	rec := func(kvs ...kv) omap { return omap(kvs) }
	cases := []badPayload{
		wrongType(t, "hello.name integer", hello.without("name").with("name", 7), "name", "want string, got integer (0x07)"),
		wrongType(t, "hello.name binary", hello.without("name").with("name", []byte("cpu")), "name", "want string, got binary (0xc4)"),
		wrongType(t, "hello.versions string", hello.without("versions").with("versions", "1"), "versions", "want array, got string (0xa1)"),
		wrongType(t, "hello.pid string", hello.without("pid").with("pid", "1"), "pid", "want unsigned integer, got string (0xa1)"),
		wrongType(t, "hello.pid float", hello.without("pid").with("pid", 4242.0), "pid", "want unsigned integer, got float (0xcb)"),
		wrongType(t, "welcome.protocol bool", omap{{"kind", "welcome"}, {"heartbeat_ms", 5000}, {"protocol", true}}, "protocol", "want unsigned integer, got bool (0xc3)"),
		wrongType(t, "welcome.heartbeat_ms float", omap{{"kind", "welcome"}, {"protocol", 1}, {"heartbeat_ms", 5000.0}}, "heartbeat_ms", "want unsigned integer, got float (0xcb)"),
		wrongType(t, "reject.reason integer", omap{{"kind", "reject"}, {"code", "credentials"}, {"reason", 3}}, "reason", "want string, got integer (0x03)"),
		wrongType(t, "data.records map", omap{{"kind", "data"}, {"records", omap{}}}, "records", "want array, got map (0x80)"),
		wrongType(t, "task.id string", task.without("id").with("id", "7"), "id", "want unsigned integer, got string (0xa1)"),
		wrongType(t, "task.token binary", task.without("token").with("token", []byte("t-1")), "token", "want string, got binary (0xc4)"),
		wrongType(t, "task.content array", task.without("content").with("content", []any{"uptime"}), "content", "want string, got array (0x91)"),
		wrongType(t, "ping.seq string", omap{{"kind", "ping"}, {"seq", "1"}}, "seq", "want unsigned integer, got string (0xa1)"),
		wrongType(t, "pong.time string", omap{{"kind", "pong"}, {"seq", 1}, {"time", "now"}}, "time", "want integer, got string (0xa3)"),
		wrongType(t, "goodbye.reason integer", omap{{"kind", "goodbye"}, {"reason", 0}}, "reason", "want string, got integer (0x00)"),
		wrongType(t, "shutdown.grace_ms string", omap{{"kind", "shutdown"}, {"grace_ms", "5s"}}, "grace_ms", "want unsigned integer, got string (0xa2)"),
		wrongType(t, "shutdown.reason bool", omap{{"kind", "shutdown"}, {"grace_ms", 5000}, {"reason", false}}, "reason", "want string, got bool (0xc2)"),
		wrongType(t, "kind integer", omap{{"kind", 7}}, "kind", "want string, got integer (0x07)"),
		wrongType(t, "kind nil", omap{{"seq", 1}, {"kind", nil}}, "kind", "want string, got nil (0xc0)"),
		wrongType(t, "kind binary", omap{{"kind", []byte("ping")}}, "kind", "want string, got binary (0xc4)"),
	}
	// Inside records the path names the record and the field; the bad value
	// is the last one in the payload, so its offset is computed.
	ok := recordMap("cpu")
	for _, c := range []struct {
		name   string
		second any // records[1]
		last   any // the bad value, when the text must name its offset
		field  string
		want   string
	}{
		{"record string", "cpu", "cpu", "records[1]", "want map, got string (0xa3)"},
		{"record.timestamp string", rec(kv{"fields", omap{{"data_type", "cpu"}}}, kv{"timestamp", "now"}), "now", "records[1].timestamp", "want integer, got string (0xa3)"},
		{"record.timestamp float", rec(kv{"fields", omap{{"data_type", "cpu"}}}, kv{"timestamp", 1.5}), 1.5, "records[1].timestamp", "want integer, got float (0xcb)"},
		{"record.token integer", rec(kv{"timestamp", 1}, kv{"fields", omap{{"data_type", "cpu"}}}, kv{"token", 9}), 9, "records[1].token", "want string, got integer (0x09)"},
		{"record.fields array", rec(kv{"timestamp", 1}, kv{"fields", []any{"data_type", "cpu"}}), []any{"data_type", "cpu"}, "records[1].fields", "want map, got array (0x92)"},
		{"record.fields value integer", rec(kv{"timestamp", 1}, kv{"fields", omap{{"data_type", "cpu"}, {"core", 1}}}), 1, "records[1].fields.core", "want string, got integer (0x01)"},
		{"record.fields.data_type nil", rec(kv{"timestamp", 1}, kv{"fields", omap{{"data_type", nil}}}), raw{0xc0}, "records[1].fields.data_type", "want string, got nil (0xc0)"},
		{"record.fields key integer", rec(kv{"timestamp", 1}, kv{"fields", map[int]string{1: "cpu"}}), nil, "records[1].fields", "key 0: want string, got integer (0x01)"},
	} {
		p := enc(t, dataMap(ok, c.second))
		want := c.want
		if c.last != nil {
			want += " " + at(p, enc(t, c.last))
		}
		cases = append(cases, badPayload{"wrong type: " + c.name, p, protocol.ErrMalformed, c.field, []string{want}})
	}
	return cases
}

func TestWrongFieldTypes(t *testing.T) { checkBadPayloads(t, wrongTypeCases(t)) }

func unknownKindCases(t testing.TB) []badPayload {
	return []badPayload{
		{"unknown kind: launch", enc(t, omap{{"kind", "launch"}, {"target", "moon"}}), protocol.ErrUnknownKind, "kind", []string{`"launch" is not a kind of protocol v1`}},
		{"unknown kind: empty", enc(t, omap{{"kind", ""}}), protocol.ErrUnknownKind, "kind", []string{`"" is not a kind of protocol v1`}},
		{"unknown kind: wrong case", enc(t, omap{{"kind", "Ping"}, {"seq", 1}}), protocol.ErrUnknownKind, "kind", []string{`"Ping" is not a kind`}},
		{"unknown kind: last key", enc(t, omap{{"seq", 1}, {"kind", "pingg"}}), protocol.ErrUnknownKind, "kind", []string{`"pingg" is not a kind`}},
	}
}

func TestUnknownKind(t *testing.T) { checkBadPayloads(t, unknownKindCases(t)) }

func missingKindCases(t testing.TB) []badPayload {
	want := []string{"protocol: missing required field: field kind"}
	return []badPayload{
		{"missing kind: other keys", enc(t, omap{{"seq", 1}, {"time", 2}}), protocol.ErrMissingField, "kind", want},
		{"missing kind: empty map", enc(t, omap{}), protocol.ErrMissingField, "kind", want},
		{"missing kind: wrong case", enc(t, omap{{"Kind", "ping"}, {"seq", 1}}), protocol.ErrMissingField, "kind", want},
	}
}

func TestMissingKind(t *testing.T) { checkBadPayloads(t, missingKindCases(t)) }

// required lists each kind's required top-level fields, as PROTOCOL.md's
// tables must also say; TestOptionalFields checks every other field may be
// left out.
var required = map[protocol.Kind][]string{
	protocol.KindHello:    {"versions", "name", "pid"},
	protocol.KindWelcome:  {"protocol", "heartbeat_ms"},
	protocol.KindReject:   {"reason"},
	protocol.KindData:     {"records"},
	protocol.KindTask:     {"id", "token"},
	protocol.KindPing:     {"seq"},
	protocol.KindPong:     {"seq"},
	protocol.KindGoodbye:  {},
	protocol.KindShutdown: {"grace_ms"},
}

// requiredInRecord lists a record's required fields.
var requiredInRecord = []string{"timestamp", "fields", "fields.data_type"}

// wireExamples returns each example's payload as an ordered map.
func wireExamples(t testing.TB) []omap {
	var out []omap
	for _, ex := range examples() {
		v, err := decodeOrdered(exampleFrame(t, ex.Msg)[protocol.HeaderSize:])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v.(omap))
	}
	return out
}

func kindOf(m omap) protocol.Kind {
	k, _ := m.get("kind")
	return protocol.Kind(k.(string))
}

// withoutRecordField removes a field (or, for "fields.data_type", the
// data_type) from records[i] of a data message.
func withoutRecordField(m omap, i int, field string) omap {
	v, _ := m.get("records")
	recs := append([]any{}, v.([]any)...)
	rec := recs[i].(omap)
	if sub, ok := strings.CutPrefix(field, "fields."); ok {
		f, _ := rec.get("fields")
		rec = rec.with("fields", f.(omap).without(sub))
	} else {
		rec = rec.without(field)
	}
	recs[i] = rec
	return m.with("records", recs)
}

func missingFieldCases(t testing.TB) []badPayload {
	var cases []badPayload
	seen := map[string]bool{}
	for _, m := range wireExamples(t) {
		kind := kindOf(m)
		for _, f := range required[kind] {
			name := fmt.Sprintf("missing field: %s.%s", kind, f)
			if seen[name] {
				continue
			}
			seen[name] = true
			cases = append(cases, badPayload{name, enc(t, m.without(f)), protocol.ErrMissingField, f,
				[]string{fmt.Sprintf("protocol: missing required field: %s: field %s", kind, f)}})
		}
		if kind == protocol.KindData && !seen["records"] {
			seen["records"] = true
			for i := range 2 {
				for _, f := range requiredInRecord {
					path := fmt.Sprintf("records[%d].%s", i, f)
					cases = append(cases, badPayload{"missing field: data." + path, enc(t, withoutRecordField(m, i, f)), protocol.ErrMissingField, path,
						[]string{"protocol: missing required field: data: field " + path}})
				}
			}
		}
	}
	// Required lists and names must not be empty either.
	hello := omap{{"kind", "hello"}, {"versions", []any{1}}, {"name", "cpu"}, {"pid", 1}}
	cases = append(cases,
		badPayload{"missing field: hello.versions empty", enc(t, hello.with("versions", []any{})), protocol.ErrMissingField, "versions", nil},
		badPayload{"missing field: hello.name empty", enc(t, hello.with("name", "")), protocol.ErrMissingField, "name", nil},
		badPayload{"missing field: task.token empty", enc(t, omap{{"kind", "task"}, {"id", 1}, {"token", ""}}), protocol.ErrMissingField, "token", nil},
	)
	return cases
}

func TestMissingRequiredFields(t *testing.T) {
	cases := missingFieldCases(t)
	names := map[string]bool{}
	for _, c := range cases {
		names[c.name] = true
	}
	for kind, fields := range required {
		for _, f := range fields {
			if name := fmt.Sprintf("missing field: %s.%s", kind, f); !names[name] {
				t.Errorf("no case for %s: add an example of kind %s", name, kind)
			}
		}
	}
	checkBadPayloads(t, cases)
}

// TestOptionalFields: every field an example carries that is not required
// may be left out or sent as nil, and the message still decodes.
func TestOptionalFields(t *testing.T) {
	for _, m := range wireExamples(t) {
		kind := kindOf(m)
		for _, p := range m {
			if p.K == "kind" || slices.Contains(required[kind], p.K) {
				continue
			}
			for _, variant := range []omap{m.without(p.K), m.with(p.K, nil)} {
				if _, err := protocol.Decode(enc(t, variant)); err != nil {
					t.Errorf("%s without %s (or nil): %v", kind, p.K, err)
				}
			}
		}
	}
	// A record's token is optional and may be nil.
	p := enc(t, dataMap(omap{{"timestamp", 1}, {"token", nil}, {"fields", omap{{"data_type", "cpu"}}}}))
	if m, err := protocol.Decode(p); err != nil || m.(*protocol.Data).Records[0].Token != "" {
		t.Errorf("record with a nil token: %#v, %v", m, err)
	}
}

func emptyDataTypeCases(t testing.TB) []badPayload {
	want := []string{"must not be empty"}
	return []badPayload{
		{"empty data_type: first record", enc(t, dataMap(recordMap(""))), protocol.ErrMalformed, "records[0].fields.data_type", want},
		{"empty data_type: third record", enc(t, dataMap(recordMap("cpu"), recordMap("mem"), recordMap(""))), protocol.ErrMalformed, "records[2].fields.data_type", want},
	}
}

func TestEmptyDataType(t *testing.T) { checkBadPayloads(t, emptyDataTypeCases(t)) }

// nest repeats one container header n times around a final 0.
func nest(header []byte, n int) raw {
	return raw(append(bytes.Repeat(header, n), 0x00))
}

func nestingBombCases(t testing.TB) []badPayload {
	const depth = 100_000
	// The value refused is the first one 33 levels down: in nested arrays the
	// 33rd header, in nested maps the key of the 32nd map.
	bomb := func(name string, m omap, b raw, depthOffset int, field string, startAt func(p []byte) int) badPayload {
		p := enc(t, m)
		start := startAt(p)
		return badPayload{"nesting bomb: " + name, p, protocol.ErrMalformed, field,
			[]string{fmt.Sprintf("values nested deeper than 32 levels at byte %d", start+depthOffset)}}
	}
	last := func(b raw) func([]byte) int { return func(p []byte) int { return len(p) - len(b) } }
	arrays, maps, array16s := nest([]byte{0x91}, depth), nest([]byte{0x81, 0xa0}, depth), nest([]byte{0xdc, 0x00, 0x01}, depth)
	return []badPayload{
		bomb("fixarrays", omap{{"kind", "ping"}, {"seq", 1}, {"bomb", arrays}}, arrays, 33, "bomb", last(arrays)),
		bomb("fixmaps", omap{{"kind", "ping"}, {"seq", 1}, {"bomb", maps}}, maps, 32*2+1, "bomb", last(maps)),
		bomb("array16s", omap{{"kind", "ping"}, {"seq", 1}, {"bomb", array16s}}, array16s, 33*3, "bomb", last(array16s)),
		bomb("before kind", omap{{"bomb", arrays}, {"kind", "ping"}, {"seq", 1}}, arrays, 33, "bomb",
			func([]byte) int { return 1 + len(enc(t, "bomb")) }),
		bomb("in a record", dataMap(omap{{"timestamp", 1}, {"fields", omap{{"data_type", "cpu"}}}, {"bomb", arrays}}), arrays, 33, "records[0].bomb", last(arrays)),
		bomb("just past the limit", omap{{"kind", "ping"}, {"seq", 1}, {"bomb", nest([]byte{0x91}, 33)}}, nil, 33, "bomb", last(nest([]byte{0x91}, 33))),
	}
}

func TestNestingBomb(t *testing.T) {
	checkBadPayloads(t, nestingBombCases(t))
	// The boundary PROTOCOL.md states: 32 containers around a value are fine.
	for _, header := range [][]byte{{0x91}, {0x81, 0xa0}} {
		p := enc(t, omap{{"kind", "ping"}, {"seq", 1}, {"deep", nest(header, 32)}})
		if _, err := protocol.Decode(p); err != nil {
			t.Errorf("32 levels of 0x%02x: %v", header[0], err)
		}
		p = enc(t, omap{{"kind", "ping"}, {"seq", 1}, {"deep", nest(header, 33)}})
		if _, err := protocol.Decode(p); !errors.Is(err, protocol.ErrMalformed) {
			t.Errorf("33 levels of 0x%02x: %v, want ErrMalformed", header[0], err)
		}
	}
}

func lyingLengthCases(t testing.TB) []badPayload {
	lie := func(name string, m omap, b raw, field, want string) badPayload {
		p := enc(t, m)
		return badPayload{"lying length: " + name, p, protocol.ErrMalformed, field, []string{want + " " + at(p, b)}}
	}
	array32, str32, bin32, ext32, array16 := raw{0xdd, 0xff, 0xff, 0xff, 0xff}, raw{0xdb, 0xff, 0xff, 0xff, 0xff},
		raw{0xc6, 0xff, 0xff, 0xff, 0xff}, raw{0xc9, 0xff, 0xff, 0xff, 0xff, 0x01}, raw{0xdc, 0xff, 0xff}
	fewRecords := raw(append([]byte{0xdc, 0x00, 100}, make([]byte, 100)...))
	fields16 := raw{0xde, 0xff, 0xff, 0xa0, 0xa0}
	str8 := raw{0xd9, 200, 'x'}
	overclaim := append([]byte{0x8f}, enc(t, "kind")...)
	overclaim = append(overclaim, enc(t, "ping")...)
	return []badPayload{
		lie("records array32", omap{{"kind", "data"}, {"records", array32}}, array32, "records", "array of length 4294967295 cannot fit in the 0 bytes that remain"),
		{"lying length: map32 payload", []byte{0xdf, 0xff, 0xff, 0xff, 0xff}, protocol.ErrMalformed, "", []string{"map of length 4294967295 cannot fit in the 0 bytes that remain at byte 0"}},
		{"lying length: fixmap payload", overclaim, protocol.ErrMalformed, "", []string{"map of length 15 cannot fit in the 10 bytes that remain at byte 0"}},
		lie("kind str32", omap{{"kind", str32}}, str32, "kind", "string of length 4294967295 cannot fit in the 0 bytes that remain"),
		lie("unknown bin32", omap{{"kind", "ping"}, {"seq", 1}, {"blob", bin32}}, bin32, "blob", "binary of length 4294967295 cannot fit in the 0 bytes that remain"),
		lie("unknown ext32", omap{{"kind", "ping"}, {"seq", 1}, {"ext", ext32}}, ext32, "ext", "extension of length 4294967295 cannot fit in the 1 bytes that remain"),
		lie("unknown array16", omap{{"kind", "ping"}, {"seq", 1}, {"list", array16}}, array16, "list", "array of length 65535 cannot fit in the 0 bytes that remain"),
		{"lying length: records fewer than claimed", enc(t, omap{{"kind", "data"}, {"records", fewRecords}}), protocol.ErrMalformed, "records[0]",
			[]string{"want map, got integer (0x00) " + at(enc(t, omap{{"kind", "data"}, {"records", fewRecords}}), fewRecords[3:])}},
		lie("record fields map16", dataMap(omap{{"timestamp", 1}, {"fields", fields16}}), fields16, "records[0].fields", "map of length 65535 cannot fit in the 2 bytes that remain"),
		lie("record value str8", dataMap(omap{{"timestamp", 1}, {"fields", omap{{"data_type", str8}}}}), str8, "records[0].fields.data_type", "string of length 200 cannot fit in the 1 bytes that remain"),
	}
}

func TestLyingLengths(t *testing.T) {
	cases := lyingLengthCases(t)
	checkBadPayloads(t, cases)
	// A header claiming 2^32-1 elements in a 24-byte payload allocates
	// nothing in proportion to the claim.
	p := cases[0].payload
	if len(p) > 24 {
		t.Fatalf("the lying-array payload is %d bytes, want at most 24", len(p))
	}
	if perRun := allocatedBytes(100, func() { protocol.Decode(p) }); perRun > 1024 {
		t.Errorf("decoding a %d-byte payload that claims 2^32-1 records allocated %d bytes", len(p), perRun)
	}
	// A header claiming 65535 records over 65535 bytes of garbage: the bytes
	// could hold at most 2048 records, and that bounds what is allocated.
	garbage := enc(t, omap{{"kind", "data"}, {"records", raw(append([]byte{0xdc, 0xff, 0xff}, make([]byte, 65535)...))}})
	if perRun := allocatedBytes(20, func() { protocol.Decode(garbage) }); perRun > 2*uint64(len(garbage)) {
		t.Errorf("decoding a %d-byte payload that claims 65535 records allocated %d bytes", len(garbage), perRun)
	}
}

// allocatedBytes is the heap allocated per call of f, averaged over runs.
func allocatedBytes(runs int, f func()) uint64 {
	f()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

func integerRangeCases(t testing.TB) []badPayload {
	hello := omap{{"kind", "hello"}, {"versions", []any{1}}, {"name", "cpu"}}
	rng := func(name string, m omap, field, want string) badPayload {
		p := enc(t, m)
		return badPayload{"integer range: " + name, p, protocol.ErrMalformed, field, []string{want + " " + at(p, enc(t, m[len(m)-1].V))}}
	}
	cases := []badPayload{
		rng("hello.pid -1", hello.with("pid", -1), "pid", "want unsigned integer, got -1"),
		rng("hello.pid -100000", hello.with("pid", -100000), "pid", "want unsigned integer, got -100000"),
		rng("hello.pid 2^31", hello.with("pid", 1<<31), "pid", "value 2147483648 exceeds the maximum 2147483647"),
		rng("task.id 2^32", omap{{"kind", "task"}, {"token", "t"}, {"id", 1 << 32}}, "id", "value 4294967296 exceeds the maximum 4294967295"),
		rng("task.id -1", omap{{"kind", "task"}, {"token", "t"}, {"id", -1}}, "id", "want unsigned integer, got -1"),
		rng("welcome.protocol 65536", omap{{"kind", "welcome"}, {"heartbeat_ms", 1}, {"protocol", 65536}}, "protocol", "value 65536 exceeds the maximum 65535"),
		rng("welcome.heartbeat_ms 2^32", omap{{"kind", "welcome"}, {"protocol", 1}, {"heartbeat_ms", 1 << 32}}, "heartbeat_ms", "value 4294967296 exceeds the maximum 4294967295"),
		rng("welcome.max_frame -1", omap{{"kind", "welcome"}, {"protocol", 1}, {"heartbeat_ms", 1}, {"max_frame", -1}}, "max_frame", "want unsigned integer, got -1"),
		rng("ping.seq -1", omap{{"kind", "ping"}, {"seq", -1}}, "seq", "want unsigned integer, got -1"),
		rng("shutdown.grace_ms -5", omap{{"kind", "shutdown"}, {"grace_ms", -5}}, "grace_ms", "want unsigned integer, got -5"),
	}
	// An element of an array and a field of a record name their place.
	versions := enc(t, hello.with("pid", 1).with("versions", []any{1, 70000}))
	stamp := enc(t, dataMap(omap{{"fields", omap{{"data_type", "cpu"}}}, {"timestamp", uint64(math.MaxUint64)}}))
	return append(cases,
		badPayload{"integer range: hello.versions 70000", versions, protocol.ErrMalformed, "versions", []string{"value 70000 exceeds the maximum 65535"}},
		badPayload{"integer range: record timestamp 2^64-1", stamp, protocol.ErrMalformed, "records[0].timestamp",
			[]string{"value 18446744073709551615 overflows int64 " + at(stamp, enc(t, uint64(math.MaxUint64)))}},
	)
}

func TestIntegerRange(t *testing.T) { checkBadPayloads(t, integerRangeCases(t)) }

// helloLengthCases: hello's strings are bounded, and the error gives the
// length, never the plugin's text.
func helloLengthCases(t testing.TB) []badPayload {
	hello := omap{{"kind", "hello"}, {"versions", []any{1}}, {"name", "cpu"}, {"pid", 1}}
	huge := strings.Repeat("v", protocol.DefaultMaxFrame-100)
	return []badPayload{
		{"string length: hello.version 4 MiB", enc(t, hello.with("version", huge)), protocol.ErrMalformed, "version",
			[]string{fmt.Sprintf("%d bytes, at most %d", len(huge), protocol.MaxVersionLen)}},
		{"string length: hello.name 65", enc(t, hello.with("name", strings.Repeat("n", 65))), protocol.ErrMalformed, "name",
			[]string{"65 bytes, at most 64"}},
		{"string length: hello.instance 81", enc(t, hello.with("instance", strings.Repeat("i", 81))), protocol.ErrMalformed, "instance",
			[]string{"81 bytes, at most 80"}},
	}
}

// TestDataBounds: a frame of more records, or a record of more fields, than
// the limits is refused by the decoder before it builds them, and by the
// encoder before it sends them.
func TestDataBounds(t *testing.T) {
	rec := omap{{"timestamp", 1}, {"fields", omap{{"data_type", "x"}}}}
	recs := make([]any, protocol.MaxRecordsPerFrame+1)
	for i := range recs {
		recs[i] = rec
	}
	fields := omap{{"data_type", "x"}}
	for i := range protocol.MaxFieldsPerRecord {
		fields = append(fields, kv{fmt.Sprint(i), ""})
	}
	checkBadPayloads(t, []badPayload{
		{"bounds: records", enc(t, omap{{"kind", "data"}, {"records", recs}}), protocol.ErrMalformed, "records",
			[]string{"16385 records, at most 16384"}},
		{"bounds: fields", enc(t, omap{{"kind", "data"}, {"records", []any{omap{{"timestamp", 1}, {"fields", fields}}}}}), protocol.ErrMalformed, "records[0].fields",
			[]string{"1025 fields, at most 1024"}},
	})
	many := make([]protocol.Record, protocol.MaxRecordsPerFrame+1)
	for i := range many {
		many[i] = protocol.Record{Fields: map[string]string{"data_type": "x"}}
	}
	if _, err := protocol.Append(nil, &protocol.Data{Records: many}); err == nil {
		t.Fatal("the encoder sent 16385 records")
	}
	wide := map[string]string{"data_type": "x"}
	for i := range protocol.MaxFieldsPerRecord {
		wide[fmt.Sprint(i)] = ""
	}
	if _, err := protocol.Append(nil, &protocol.Data{Records: []protocol.Record{{Fields: wide}}}); err == nil {
		t.Fatal("the encoder sent 1025 fields")
	}
}

func TestHelloLengths(t *testing.T) {
	cases := helloLengthCases(t)
	checkBadPayloads(t, cases)
	for _, c := range cases {
		_, err := protocol.Decode(c.payload)
		if strings.Contains(err.Error(), "vvvv") || strings.Contains(err.Error(), "nnnn") || strings.Contains(err.Error(), "iiii") {
			t.Errorf("%s: the error quotes the plugin's text: %.200s", c.name, err)
		}
		// The encoder refuses what the decoder would.
		m := &protocol.Hello{Versions: []uint16{1}, Name: "cpu", PID: 1}
		switch c.field {
		case "version":
			m.Version = strings.Repeat("v", protocol.DefaultMaxFrame-100)
		case "name":
			m.Name = strings.Repeat("n", 65)
		case "instance":
			m.Instance = strings.Repeat("i", 81)
		}
		if _, err := protocol.Append(nil, m); err == nil {
			t.Errorf("%s: the encoder sent it", c.name)
		}
	}
}

// allBadPayloads is every case above, for the fuzz seed corpora.
func allBadPayloads(t testing.TB) []badPayload {
	var all []badPayload
	for _, class := range []func(testing.TB) []badPayload{
		notAMapCases, invalidByteCases, wrongTypeCases, unknownKindCases, missingKindCases,
		missingFieldCases, emptyDataTypeCases, nestingBombCases, lyingLengthCases, integerRangeCases,
	} {
		all = append(all, class(t)...)
	}
	return all
}
