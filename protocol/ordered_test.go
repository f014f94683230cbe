package protocol_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// The generic msgpack library is the independent witness of these tests: it
// builds frames the way another implementation might (keys in any order, any
// integer width) and reads ours back, so our codec is never checked only
// against itself.

// omap is a msgpack map that keeps its key order.
type omap []kv

type kv struct {
	K string
	V any
}

func (m omap) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := e.EncodeMapLen(len(m)); err != nil {
		return err
	}
	for _, p := range m {
		if err := e.EncodeString(p.K); err != nil {
			return err
		}
		if err := e.Encode(p.V); err != nil {
			return err
		}
	}
	return nil
}

// get returns the value of key k.
func (m omap) get(k string) (any, bool) {
	for _, p := range m {
		if p.K == k {
			return p.V, true
		}
	}
	return nil, false
}

// without returns a copy of m lacking key k.
func (m omap) without(k string) omap {
	out := omap{}
	for _, p := range m {
		if p.K != k {
			out = append(out, p)
		}
	}
	return out
}

// with returns a copy of m with key k set to v (appended when absent).
func (m omap) with(k string, v any) omap {
	out := append(omap{}, m...)
	for i := range out {
		if out[i].K == k {
			out[i].V = v
			return out
		}
	}
	return append(out, kv{k, v})
}

// reversed returns m with its keys in the opposite order ("kind" last).
func (m omap) reversed() omap {
	out := make(omap, len(m))
	for i, p := range m {
		out[len(m)-1-i] = p
	}
	return out
}

// encodeGeneric encodes v with the generic library. With compact, integers
// take their smallest encoding (as ours do); without, Go ints go out as
// 9-byte int64 and uint64 as 9-byte uint64, which a peer may legally send.
func encodeGeneric(t testing.TB, v any, compact bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(compact)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("generic encode %#v: %v", v, err)
	}
	return buf.Bytes()
}

// decodeOrdered decodes one value with the generic library, keeping wire
// order: maps become omap, arrays []any, integers int64 or uint64, str
// string, bin []byte. It fails if bytes are left over.
func decodeOrdered(b []byte) (any, error) {
	d := msgpack.NewDecoder(bytes.NewReader(b))
	d.UseLooseInterfaceDecoding(true)
	v, err := decodeOrderedValue(d)
	if err != nil {
		return nil, err
	}
	if rest, _ := d.Buffered().Read(make([]byte, 1)); rest > 0 {
		return nil, fmt.Errorf("bytes left after the value")
	}
	return v, nil
}

func decodeOrderedValue(d *msgpack.Decoder) (any, error) {
	c, err := d.PeekCode()
	if err != nil {
		return nil, err
	}
	switch {
	case msgpcode.IsFixedMap(c), c == msgpcode.Map16, c == msgpcode.Map32:
		n, err := d.DecodeMapLen()
		if err != nil {
			return nil, err
		}
		m := make(omap, 0, n)
		for range n {
			k, err := d.DecodeString()
			if err != nil {
				return nil, err
			}
			v, err := decodeOrderedValue(d)
			if err != nil {
				return nil, err
			}
			m = append(m, kv{k, v})
		}
		return m, nil
	case msgpcode.IsFixedArray(c), c == msgpcode.Array16, c == msgpcode.Array32:
		n, err := d.DecodeArrayLen()
		if err != nil {
			return nil, err
		}
		a := make([]any, 0, n)
		for range n {
			v, err := decodeOrderedValue(d)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		return a, nil
	}
	return d.DecodeInterfaceLoose()
}

// wireJSON renders a decodeOrdered value as one line of JSON in wire order:
// what the specification shows above each hex dump.
func wireJSON(v any) string {
	var b strings.Builder
	writeJSON(&b, v)
	return b.String()
}

func writeJSON(b *strings.Builder, v any) {
	switch v := v.(type) {
	case omap:
		b.WriteString("{")
		for i, p := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSON(b, p.K)
			b.WriteString(": ")
			writeJSON(b, p.V)
		}
		b.WriteString("}")
	case []any:
		b.WriteString("[")
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSON(b, e)
		}
		b.WriteString("]")
	case string:
		var s bytes.Buffer
		enc := json.NewEncoder(&s)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v)
		b.WriteString(strings.TrimSuffix(s.String(), "\n"))
	case nil:
		b.WriteString("null")
	default:
		fmt.Fprint(b, v)
	}
}
