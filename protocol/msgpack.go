package protocol

import (
	"encoding/binary"
	"fmt"
	"math"
)

// This file is a hand-written subset of msgpack: exactly the types the
// messages use. The generic github.com/vmihailenco/msgpack/v5 path costs about
// 14 allocations per record; records are the hot path, so they get this one.
// The tests check every byte written here against the generic library.

func appendMapHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xde, byte(n>>8), byte(n))
	default:
		return append(b, 0xdf, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

func appendArrayHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xdc, byte(n>>8), byte(n))
	default:
		return append(b, 0xdd, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

func appendString(b []byte, s string) []byte {
	n := len(s)
	switch {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = append(b, 0xda, byte(n>>8), byte(n))
	default:
		b = append(b, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, s...)
}

func appendUint(b []byte, u uint64) []byte {
	switch {
	case u < 128:
		return append(b, byte(u))
	case u <= math.MaxUint8:
		return append(b, 0xcc, byte(u))
	case u <= math.MaxUint16:
		return append(b, 0xcd, byte(u>>8), byte(u))
	case u <= math.MaxUint32:
		return append(b, 0xce, byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
	default:
		return binary.BigEndian.AppendUint64(append(b, 0xcf), u)
	}
}

func appendInt(b []byte, i int64) []byte {
	if i >= 0 {
		return appendUint(b, uint64(i))
	}
	switch {
	case i >= -32:
		return append(b, byte(i))
	case i >= math.MinInt8:
		return append(b, 0xd0, byte(i))
	case i >= math.MinInt16:
		return append(b, 0xd1, byte(i>>8), byte(i))
	case i >= math.MinInt32:
		return append(b, 0xd2, byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
	default:
		return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(i))
	}
}

func appendKeyString(b []byte, k, v string) []byte { return appendString(appendString(b, k), v) }
func appendKeyUint(b []byte, k string, v uint64) []byte {
	return appendUint(appendString(b, k), v)
}

func appendUint16s(b []byte, vs []uint16) []byte {
	b = appendArrayHeader(b, len(vs))
	for _, v := range vs {
		b = appendUint(b, uint64(v))
	}
	return b
}

// maxDepth bounds nesting when skipping unknown values, so a hostile frame of
// nested arrays cannot exhaust the stack.
const maxDepth = 32

// reader decodes msgpack from a byte slice. Every length it reads is checked
// against the bytes that remain, so no allocation can exceed the frame itself.
type reader struct {
	b []byte
	p int
}

func (r *reader) remaining() int { return len(r.b) - r.p }

func (r *reader) errf(format string, args ...any) error {
	return fmt.Errorf(format+" at byte %d", append(args, r.p)...)
}

func (r *reader) need(n int) error {
	if n < 0 || r.remaining() < n {
		return r.errf("value needs %d bytes but only %d remain", n, r.remaining())
	}
	return nil
}

func (r *reader) byte() (byte, error) {
	if err := r.need(1); err != nil {
		return 0, err
	}
	c := r.b[r.p]
	r.p++
	return c, nil
}

func (r *reader) bigEndian(n int) (uint64, error) {
	if err := r.need(n); err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range r.b[r.p : r.p+n] {
		v = v<<8 | uint64(c)
	}
	r.p += n
	return v, nil
}

// count reads the n-byte length that follows a container or string marker and
// checks it against what remains: each element takes at least minSize bytes.
func (r *reader) count(n, minSize int) (int, error) {
	v, err := r.bigEndian(n)
	if err != nil {
		return 0, err
	}
	if v > uint64(r.remaining()/minSize) {
		return 0, r.errf("length %d exceeds the %d bytes that remain", v, r.remaining())
	}
	return int(v), nil
}

func typeName(c byte) string {
	switch {
	case c <= 0x7f, c >= 0xe0, c >= 0xcc && c <= 0xd3:
		return "integer"
	case c >= 0x80 && c <= 0x8f, c == 0xde, c == 0xdf:
		return "map"
	case c >= 0x90 && c <= 0x9f, c == 0xdc, c == 0xdd:
		return "array"
	case c >= 0xa0 && c <= 0xbf, c >= 0xd9 && c <= 0xdb:
		return "string"
	case c == 0xc0:
		return "nil"
	case c == 0xc2, c == 0xc3:
		return "bool"
	case c >= 0xc4 && c <= 0xc6:
		return "binary"
	case c == 0xca, c == 0xcb:
		return "float"
	case c == 0xc1:
		return "reserved byte 0xc1"
	default:
		return "extension"
	}
}

func (r *reader) wrongType(want string, c byte) error {
	r.p--
	return r.errf("want %s, got %s (0x%02x)", want, typeName(c), c)
}

func (r *reader) mapHeader() (int, error) {
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case c >= 0x80 && c <= 0x8f:
		n := int(c & 0x0f)
		if n*2 > r.remaining() {
			return 0, r.errf("map of %d entries exceeds the %d bytes that remain", n, r.remaining())
		}
		return n, nil
	case c == 0xde:
		return r.count(2, 2)
	case c == 0xdf:
		return r.count(4, 2)
	}
	return 0, r.wrongType("map", c)
}

func (r *reader) arrayHeader() (int, error) {
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case c >= 0x90 && c <= 0x9f:
		n := int(c & 0x0f)
		if n > r.remaining() {
			return 0, r.errf("array of %d elements exceeds the %d bytes that remain", n, r.remaining())
		}
		return n, nil
	case c == 0xdc:
		return r.count(2, 1)
	case c == 0xdd:
		return r.count(4, 1)
	}
	return 0, r.wrongType("array", c)
}

// strSpan returns the offset and length of a string's bytes, so callers can
// slice one shared string instead of allocating one per value.
func (r *reader) strSpan() (int, int, error) {
	c, err := r.byte()
	if err != nil {
		return 0, 0, err
	}
	var n int
	switch {
	case c >= 0xa0 && c <= 0xbf:
		n = int(c & 0x1f)
		if err := r.need(n); err != nil {
			return 0, 0, err
		}
	case c == 0xd9:
		n, err = r.count(1, 1)
	case c == 0xda:
		n, err = r.count(2, 1)
	case c == 0xdb:
		n, err = r.count(4, 1)
	default:
		return 0, 0, r.wrongType("string", c)
	}
	if err != nil {
		return 0, 0, err
	}
	start := r.p
	r.p += n
	return start, n, nil
}

func (r *reader) strBytes() ([]byte, error) {
	start, n, err := r.strSpan()
	if err != nil {
		return nil, err
	}
	return r.b[start : start+n], nil
}

func (r *reader) str() (string, error) {
	b, err := r.strBytes()
	return string(b), err
}

func (r *reader) uint(max uint64) (uint64, error) {
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	var v uint64
	switch {
	case c <= 0x7f:
		v = uint64(c)
	case c >= 0xcc && c <= 0xcf:
		v, err = r.bigEndian(1 << (c - 0xcc))
	case c >= 0xd0 && c <= 0xd3:
		var i int64
		r.p--
		i, err = r.int()
		if err == nil && i < 0 {
			return 0, r.errf("want unsigned integer, got %d", i)
		}
		v = uint64(i)
	default:
		return 0, r.wrongType("unsigned integer", c)
	}
	if err != nil {
		return 0, err
	}
	if v > max {
		return 0, r.errf("value %d exceeds the maximum %d", v, max)
	}
	return v, nil
}

func (r *reader) int() (int64, error) {
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case c <= 0x7f:
		return int64(c), nil
	case c >= 0xe0:
		return int64(int8(c)), nil
	case c >= 0xcc && c <= 0xcf:
		v, err := r.bigEndian(1 << (c - 0xcc))
		if err == nil && v > math.MaxInt64 {
			return 0, r.errf("value %d overflows int64", v)
		}
		return int64(v), err
	case c >= 0xd0 && c <= 0xd3:
		size := 1 << (c - 0xd0)
		v, err := r.bigEndian(size)
		shift := 64 - 8*size
		return int64(v<<shift) >> shift, err
	}
	return 0, r.wrongType("integer", c)
}

func (r *reader) uint16s() ([]uint16, error) {
	n, err := r.arrayHeader()
	if err != nil {
		return nil, err
	}
	out := make([]uint16, n)
	for i := range out {
		v, err := r.uint(math.MaxUint16)
		if err != nil {
			return nil, err
		}
		out[i] = uint16(v)
	}
	return out, nil
}

// isNil consumes a nil if one is next; optional fields may be sent as nil.
func (r *reader) isNil() bool {
	if r.p < len(r.b) && r.b[r.p] == 0xc0 {
		r.p++
		return true
	}
	return false
}

// skip passes over one value of any type, for fields this version ignores.
func (r *reader) skip(depth int) error {
	if depth > maxDepth {
		return r.errf("values nested deeper than %d", maxDepth)
	}
	c, err := r.byte()
	if err != nil {
		return err
	}
	var n int
	switch {
	case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		return nil
	case c >= 0x80 && c <= 0x8f:
		return r.skipN(2*int(c&0x0f), depth)
	case c >= 0x90 && c <= 0x9f:
		return r.skipN(int(c&0x0f), depth)
	case c >= 0xa0 && c <= 0xbf:
		n = int(c & 0x1f)
	case c == 0xc4, c == 0xd9:
		n, err = r.count(1, 1)
	case c == 0xc5, c == 0xda:
		n, err = r.count(2, 1)
	case c == 0xc6, c == 0xdb:
		n, err = r.count(4, 1)
	case c == 0xc7, c == 0xc8, c == 0xc9: // ext 8/16/32: length, type byte, data
		n, err = r.count(1<<(c-0xc7), 1)
		n++
	case c == 0xca:
		n = 4
	case c == 0xcb:
		n = 8
	case c >= 0xcc && c <= 0xcf:
		n = 1 << (c - 0xcc)
	case c >= 0xd0 && c <= 0xd3:
		n = 1 << (c - 0xd0)
	case c >= 0xd4 && c <= 0xd8: // fixext: type byte + 1..16 bytes
		n = 1 + 1<<(c-0xd4)
	case c == 0xdc:
		n, err = r.count(2, 1)
		if err == nil {
			return r.skipN(n, depth)
		}
	case c == 0xdd:
		n, err = r.count(4, 1)
		if err == nil {
			return r.skipN(n, depth)
		}
	case c == 0xde:
		n, err = r.count(2, 2)
		if err == nil {
			return r.skipN(2*n, depth)
		}
	case c == 0xdf:
		n, err = r.count(4, 2)
		if err == nil {
			return r.skipN(2*n, depth)
		}
	default:
		return r.wrongType("a msgpack value", c)
	}
	if err != nil {
		return err
	}
	if err := r.need(n); err != nil {
		return err
	}
	r.p += n
	return nil
}

func (r *reader) skipN(n, depth int) error {
	for i := 0; i < n; i++ {
		if err := r.skip(depth + 1); err != nil {
			return err
		}
	}
	return nil
}
