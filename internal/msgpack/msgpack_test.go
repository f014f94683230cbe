package msgpack

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	generic "github.com/vmihailenco/msgpack/v5"
)

// encodeGeneric is what the generic library writes for v with compact
// integers: the bytes every appender must match.
func encodeGeneric(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := generic.NewEncoder(&buf)
	enc.UseCompactInts(true)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var (
	uints = []uint64{0, 1, 127, 128, 255, 256, math.MaxUint16, math.MaxUint16 + 1, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64, math.MaxUint64}
	ints  = []int64{-1, -32, -33, math.MinInt8, math.MinInt8 - 1, math.MinInt16, math.MinInt16 - 1, math.MinInt32, math.MinInt32 - 1, math.MinInt64}
	lens  = []int{0, 1, 15, 16, 31, 32, math.MaxUint8, math.MaxUint8 + 1, math.MaxUint16, math.MaxUint16 + 1}
)

func TestAppendersMatchGeneric(t *testing.T) {
	check := func(what string, ours []byte, v any) {
		t.Helper()
		if want := encodeGeneric(t, v); !bytes.Equal(ours, want) {
			t.Errorf("%s: ours % x, generic % x", what, head(ours), head(want))
		}
	}
	for _, u := range uints {
		check("uint", AppendUint(nil, u), u)
		if u <= math.MaxInt64 {
			check("int", AppendInt(nil, int64(u)), int64(u))
		}
	}
	for _, i := range ints {
		check("int", AppendInt(nil, i), i)
	}
	for _, n := range lens {
		s := strings.Repeat("x", n)
		check("string", AppendString(nil, s), s)
		var buf bytes.Buffer
		enc := generic.NewEncoder(&buf)
		_ = enc.EncodeMapLen(n)
		_ = enc.EncodeArrayLen(n)
		if got := AppendArrayHeader(AppendMapHeader(nil, n), n); !bytes.Equal(got, buf.Bytes()) {
			t.Errorf("headers of %d: ours % x, generic % x", n, got, buf.Bytes())
		}
	}
	for _, tm := range []time.Time{
		time.Unix(0, 0), time.Unix(1763755200, 0), time.Unix(1763755200, 123456789),
		time.Unix(1<<34, 1), time.Unix(-1, 0), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		check("time "+tm.String(), AppendTime(nil, tm), tm)
	}
	check("uint16s", AppendUint16s(nil, []uint16{1, 300, math.MaxUint16}), []uint16{1, 300, math.MaxUint16})
	entry := func(k string, v any) []byte { return append(encodeGeneric(t, k), encodeGeneric(t, v)...) }
	for what, pair := range map[string][2][]byte{
		"key string": {AppendKeyString(nil, "k", "v"), entry("k", "v")},
		"key uint":   {AppendKeyUint(nil, "k", 300), entry("k", uint64(300))},
		"key int":    {AppendKeyInt(nil, "k", -300), entry("k", int64(-300))},
		"key time":   {AppendKeyTime(nil, "k", time.Unix(5, 6)), entry("k", time.Unix(5, 6))},
	} {
		if !bytes.Equal(pair[0], pair[1]) {
			t.Errorf("%s: ours % x, generic % x", what, pair[0], pair[1])
		}
	}
}

// head is the start of b, for messages about long encodings.
func head(b []byte) []byte { return b[:min(len(b), 16)] }

func TestReaderReadsAppended(t *testing.T) {
	for _, u := range uints {
		r := &Reader{Buf: AppendUint(nil, u)}
		if got, err := r.Uint(math.MaxUint64); err != nil || got != u || r.Remaining() != 0 {
			t.Errorf("Uint %d: %d, %v, %d left", u, got, err, r.Remaining())
		}
	}
	for _, i := range append(ints, 0, 1, math.MaxInt64) {
		r := &Reader{Buf: AppendInt(nil, i)}
		if got, err := r.Int(); err != nil || got != i || r.Remaining() != 0 {
			t.Errorf("Int %d: %d, %v, %d left", i, got, err, r.Remaining())
		}
	}
	for _, n := range lens {
		s := strings.Repeat("x", n)
		r := &Reader{Buf: AppendArrayHeader(AppendMapHeader(AppendString(nil, s), n), n)}
		got, err := r.Str()
		if err != nil || got != s {
			t.Errorf("Str of %d: %d bytes, %v", n, len(got), err)
		}
		// The headers claim more than the bytes hold beyond 0, so only the
		// empty ones can be read back.
		if n == 0 {
			if m, err := r.MapHeader(); err != nil || m != 0 {
				t.Errorf("MapHeader: %d, %v", m, err)
			}
			if a, err := r.ArrayHeader(); err != nil || a != 0 {
				t.Errorf("ArrayHeader: %d, %v", a, err)
			}
		}
	}
	r := &Reader{Buf: AppendUint16s(nil, []uint16{1, 300})}
	if vs, err := r.Uint16s(); err != nil || !reflect.DeepEqual(vs, []uint16{1, 300}) {
		t.Errorf("Uint16s: %v, %v", vs, err)
	}
	r = &Reader{Buf: AppendUint16s(nil, nil)}
	if vs, err := r.Uint16s(); err != nil || vs != nil {
		t.Errorf("empty Uint16s: %#v, %v", vs, err)
	}
}

// TestReaderWidths: a sender may pick any width, and a signed encoding of a
// value Uint wants is fine.
func TestReaderWidths(t *testing.T) {
	for _, b := range [][]byte{{0x05}, {0xcc, 5}, {0xcd, 0, 5}, {0xce, 0, 0, 0, 5}, {0xcf, 0, 0, 0, 0, 0, 0, 0, 5},
		{0xd0, 5}, {0xd1, 0, 5}, {0xd2, 0, 0, 0, 5}, {0xd3, 0, 0, 0, 0, 0, 0, 0, 5}} {
		if v, err := (&Reader{Buf: b}).Uint(5); err != nil || v != 5 {
			t.Errorf("Uint % x: %d, %v", b, v, err)
		}
		if v, err := (&Reader{Buf: b}).Int(); err != nil || v != 5 {
			t.Errorf("Int % x: %d, %v", b, v, err)
		}
	}
}

func TestReaderErrors(t *testing.T) {
	bomb := bytes.Repeat([]byte{0x91}, 100)
	for _, c := range []struct {
		name string
		in   []byte
		read func(*Reader) error
		want string
	}{
		{"empty", nil, skip, "payload ends where a value should begin at byte 0"},
		{"map32 lie", []byte{0xdf, 0xff, 0xff, 0xff, 0xff}, mapHeader, "map of length 4294967295 cannot fit in the 0 bytes that remain at byte 0"},
		{"fixmap lie", []byte{0x8f, 0xa1, 'k', 0x01}, mapHeader, "map of length 15 cannot fit in the 3 bytes that remain at byte 0"},
		{"array16 lie", []byte{0xdc, 0xff, 0xff}, arrayHeader, "array of length 65535 cannot fit in the 0 bytes that remain at byte 0"},
		{"str32 lie", []byte{0xdb, 0x7f, 0, 0, 0}, str, "string of length 2130706432 cannot fit in the 0 bytes that remain at byte 0"},
		{"bin32 lie", []byte{0xc6, 0xff, 0xff, 0xff, 0xff}, skip, "binary of length 4294967295 cannot fit in the 0 bytes that remain at byte 0"},
		{"ext32 lie", []byte{0xc9, 0xff, 0xff, 0xff, 0xff, 1}, skip, "extension of length 4294967295 cannot fit in the 1 bytes that remain at byte 0"},
		{"truncated length", []byte{0xda, 0x01}, str, "value needs 2 more bytes but only 1 remain at byte 0"},
		{"truncated float", []byte{0xcb, 0, 0}, skip, "value needs 8 more bytes but only 2 remain at byte 0"},
		{"nesting bomb", bomb, skip, "values nested deeper than 32 levels at byte 33"},
		{"reserved byte", []byte{0xc1}, skip, "want a msgpack value, got reserved byte (0xc1) at byte 0"},
		{"nil map", []byte{0xc0}, mapHeader, "want map, got nil (0xc0) at byte 0"},
		{"binary string", []byte{0xc4, 1, 'x'}, str, "want string, got binary (0xc4) at byte 0"},
		{"string uint", []byte{0xa1, '1'}, uintMax(10), "want unsigned integer, got string (0xa1) at byte 0"},
		{"negative uint", []byte{0xff}, uintMax(10), "want unsigned integer, got -1 at byte 0"},
		{"uint too big", []byte{0xcd, 1, 0}, uintMax(255), "value 256 exceeds the maximum 255 at byte 0"},
		{"int64 overflow", []byte{0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0}, integer, "value 9223372036854775808 overflows int64 at byte 0"},
		{"float int", []byte{0xca, 0, 0, 0, 0}, integer, "want integer, got float (0xca) at byte 0"},
		{"nil version", []byte{0x91, 0xc0}, uint16s, "want unsigned integer, got nil (0xc0) at byte 1"},
	} {
		r := &Reader{Buf: c.in}
		err := c.read(r)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func skip(r *Reader) error        { return r.Skip() }
func str(r *Reader) error         { _, err := r.Str(); return err }
func integer(r *Reader) error     { _, err := r.Int(); return err }
func uint16s(r *Reader) error     { _, err := r.Uint16s(); return err }
func mapHeader(r *Reader) error   { _, err := r.MapHeader(); return err }
func arrayHeader(r *Reader) error { _, err := r.ArrayHeader(); return err }
func uintMax(max uint64) func(*Reader) error {
	return func(r *Reader) error { _, err := r.Uint(max); return err }
}

// TestWrongTypeStays: a value of the wrong type is left to be read again,
// as a caller trying another type expects.
func TestWrongTypeStays(t *testing.T) {
	r := &Reader{Buf: []byte{0xa1, 'x'}}
	if _, err := r.Int(); err == nil || r.Pos != 0 {
		t.Fatalf("Int of a string: %v, at %d", err, r.Pos)
	}
	if s, err := r.Str(); err != nil || s != "x" {
		t.Fatalf("Str after: %q, %v", s, err)
	}
}

func TestLoose(t *testing.T) {
	nils := func() *Reader { return &Reader{Buf: []byte{0xc0}, Loose: true} }
	if n, err := nils().MapHeader(); n != 0 || err != nil {
		t.Errorf("MapHeader: %d, %v", n, err)
	}
	if n, err := nils().ArrayHeader(); n != 0 || err != nil {
		t.Errorf("ArrayHeader: %d, %v", n, err)
	}
	if s, err := nils().Str(); s != "" || err != nil {
		t.Errorf("Str: %q, %v", s, err)
	}
	if i, err := nils().Int(); i != 0 || err != nil {
		t.Errorf("Int: %d, %v", i, err)
	}
	if u, err := nils().Uint(1); u != 0 || err != nil {
		t.Errorf("Uint: %d, %v", u, err)
	}
	if vs, err := nils().Uint16s(); vs != nil || err != nil {
		t.Errorf("Uint16s: %v, %v", vs, err)
	}
	r := &Reader{Buf: []byte{0x92, 0xc0, 0x07}, Loose: true}
	if vs, err := r.Uint16s(); !reflect.DeepEqual(vs, []uint16{0, 7}) || err != nil {
		t.Errorf("Uint16s with a nil: %v, %v", vs, err)
	}
	for _, b := range [][]byte{{0xc4, 2, 'h', 'i'}, {0xc5, 0, 2, 'h', 'i'}, {0xc6, 0, 0, 0, 2, 'h', 'i'}} {
		r := &Reader{Buf: b, Loose: true}
		if s, err := r.Str(); s != "hi" || err != nil || r.Remaining() != 0 {
			t.Errorf("Str of % x: %q, %v", b, s, err)
		}
	}
	r = &Reader{Buf: []byte{0xc4, 9, 'h', 'i'}, Loose: true}
	if _, err := r.Str(); err == nil || err.Error() != "binary of length 9 cannot fit in the 2 bytes that remain at byte 0" {
		t.Errorf("lying binary: %v", err)
	}
}

// TestSkipAndRaw: Skip passes over exactly one value of every type, and Raw
// returns its bytes.
func TestSkipAndRaw(t *testing.T) {
	for _, v := range []any{
		nil, true, false, 1.5, float32(2.5), -7, uint64(math.MaxUint64), "s", strings.Repeat("y", 300),
		[]byte("bin"), bytes.Repeat([]byte{1}, 70000), time.Unix(1763755200, 1), time.Unix(1<<35, 0),
		[]any{1, "a", []any{map[string]any{"k": []any{nil}}}}, map[string]any{"a": 1, "b": []any{true}},
		generic.RawMessage{0xd4, 5, 1}, generic.RawMessage{0xd8, 5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		generic.RawMessage{0xc7, 2, 5, 1, 2},
	} {
		enc := encodeGeneric(t, v)
		r := &Reader{Buf: append(enc, 0x2a)}
		raw, err := r.Raw()
		if err != nil || !bytes.Equal(raw, enc) {
			t.Errorf("Raw of %T: % x, %v; want % x", v, head(raw), err, head(enc))
		}
		if n, err := r.Int(); n != 0x2a || err != nil {
			t.Errorf("after %T: %d, %v", v, n, err)
		}
	}
}
