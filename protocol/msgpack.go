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
// Errors name the offset at which the offending value begins.
type reader struct {
	b []byte
	p int
}

func (r *reader) remaining() int { return len(r.b) - r.p }

func (r *reader) errAt(at int, format string, args ...any) error {
	return fmt.Errorf(format+" at byte %d", append(args, at)...)
}

// need checks that n more bytes follow for the value that began at at.
func (r *reader) need(at, n int) error {
	if r.remaining() < n {
		return r.errAt(at, "value needs %d more bytes but only %d remain", n, r.remaining())
	}
	return nil
}

func (r *reader) byte() (byte, error) {
	if r.p >= len(r.b) {
		return 0, r.endErr()
	}
	c := r.b[r.p]
	r.p++
	return c, nil
}

// endErr is out of line so that byte stays small enough to inline.
func (r *reader) endErr() error {
	return r.errAt(r.p, "payload ends where a value should begin")
}

func (r *reader) bigEndian(at, n int) (uint64, error) {
	if err := r.need(at, n); err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range r.b[r.p : r.p+n] {
		v = v<<8 | uint64(c)
	}
	r.p += n
	return v, nil
}

// count reads the n-byte length that follows the container or string marker
// at at, and checks it with fits.
func (r *reader) count(at, n, minSize int, what string) (int, error) {
	v, err := r.bigEndian(at, n)
	if err != nil {
		return 0, err
	}
	return r.fits(at, v, minSize, what)
}

// fits refuses a length that cannot be true: each of the v elements takes at
// least minSize bytes, so a lying header is caught before anything is
// allocated for it. It multiplies rather than divides: it runs for every
// string on the hot path, and v < 2^32 and minSize <= 32 cannot overflow.
func (r *reader) fits(at int, v uint64, minSize int, what string) (int, error) {
	if v*uint64(minSize) > uint64(r.remaining()) {
		return 0, r.errAt(at, "%s of length %d cannot fit in the %d bytes that remain", what, v, r.remaining())
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
		return "reserved byte"
	default:
		return "extension"
	}
}

// wrongType reports the value at at, whose marker is c, as not the wanted
// type and leaves the reader on it.
func (r *reader) wrongType(at int, want string, c byte) error {
	r.p = at
	return r.errAt(at, "want %s, got %s (0x%02x)", want, typeName(c), c)
}

func (r *reader) mapHeader() (int, error) {
	at := r.p
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case c >= 0x80 && c <= 0x8f:
		return r.fits(at, uint64(c&0x0f), 2, "map")
	case c == 0xde:
		return r.count(at, 2, 2, "map")
	case c == 0xdf:
		return r.count(at, 4, 2, "map")
	}
	return 0, r.wrongType(at, "map", c)
}

func (r *reader) arrayHeader() (int, error) {
	at := r.p
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case c >= 0x90 && c <= 0x9f:
		return r.fits(at, uint64(c&0x0f), 1, "array")
	case c == 0xdc:
		return r.count(at, 2, 1, "array")
	case c == 0xdd:
		return r.count(at, 4, 1, "array")
	}
	return 0, r.wrongType(at, "array", c)
}

// strSpan returns the offset and length of a string's bytes, so callers can
// slice one shared string instead of allocating one per value. Binary is
// refused: the spec says strings are str, and accepting both would leave
// every other implementation guessing.
func (r *reader) strSpan() (int, int, error) {
	// Fast path: a fixstr that fits, which is nearly every key and value.
	if r.p < len(r.b) {
		if c := r.b[r.p]; c&0xe0 == 0xa0 {
			start, n := r.p+1, int(c&0x1f)
			if start+n <= len(r.b) {
				r.p = start + n
				return start, n, nil
			}
		}
	}
	return r.strSpanSlow()
}

func (r *reader) strSpanSlow() (int, int, error) {
	at := r.p
	c, err := r.byte()
	if err != nil {
		return 0, 0, err
	}
	var n int
	switch {
	case c >= 0xa0 && c <= 0xbf:
		n, err = r.fits(at, uint64(c&0x1f), 1, "string")
	case c == 0xd9:
		n, err = r.count(at, 1, 1, "string")
	case c == 0xda:
		n, err = r.count(at, 2, 1, "string")
	case c == 0xdb:
		n, err = r.count(at, 4, 1, "string")
	default:
		return 0, 0, r.wrongType(at, "string", c)
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

// uint reads any msgpack integer encoding whose value is in 0..max: senders
// may pick any width, and a signed encoding of a non-negative value is fine.
func (r *reader) uint(max uint64) (uint64, error) {
	at := r.p
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	var v uint64
	switch {
	case c <= 0x7f:
		v = uint64(c)
	case c >= 0xcc && c <= 0xcf:
		v, err = r.bigEndian(at, 1<<(c-0xcc))
	case c >= 0xe0, c >= 0xd0 && c <= 0xd3:
		r.p = at
		var i int64
		if i, err = r.int(); err == nil && i < 0 {
			return 0, r.errAt(at, "want unsigned integer, got %d", i)
		}
		v = uint64(i)
	default:
		return 0, r.wrongType(at, "unsigned integer", c)
	}
	if err != nil {
		return 0, err
	}
	if v > max {
		return 0, r.errAt(at, "value %d exceeds the maximum %d", v, max)
	}
	return v, nil
}

func (r *reader) int() (int64, error) {
	at := r.p
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
		v, err := r.bigEndian(at, 1<<(c-0xcc))
		if err == nil && v > math.MaxInt64 {
			return 0, r.errAt(at, "value %d overflows int64", v)
		}
		return int64(v), err
	case c >= 0xd0 && c <= 0xd3:
		size := 1 << (c - 0xd0)
		v, err := r.bigEndian(at, size)
		shift := 64 - 8*size
		return int64(v<<shift) >> shift, err
	}
	return 0, r.wrongType(at, "integer", c)
}

// uint16s reads an array of versions. An empty array decodes to nil so that
// decoding what Append wrote gives back an equal value.
func (r *reader) uint16s() ([]uint16, error) {
	n, err := r.arrayHeader()
	if err != nil || n == 0 {
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
// Containers recurse, so depth is bounded: a frame of deeply nested arrays is
// an error, not a stack overflow.
func (r *reader) skip(depth int) error {
	at := r.p
	if depth > maxDepth {
		return r.errAt(at, "values nested deeper than %d levels", maxDepth)
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
		n, err = r.count(at, 1, 1, typeName(c))
	case c == 0xc5, c == 0xda:
		n, err = r.count(at, 2, 1, typeName(c))
	case c == 0xc6, c == 0xdb:
		n, err = r.count(at, 4, 1, typeName(c))
	case c == 0xc7, c == 0xc8, c == 0xc9: // ext 8/16/32: length, type byte, data
		n, err = r.count(at, 1<<(c-0xc7), 1, "extension")
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
	case c == 0xdc, c == 0xdd:
		if n, err = r.count(at, 2<<(c-0xdc), 1, "array"); err == nil {
			return r.skipN(n, depth)
		}
	case c == 0xde, c == 0xdf:
		if n, err = r.count(at, 2<<(c-0xde), 2, "map"); err == nil {
			return r.skipN(2*n, depth)
		}
	default:
		return r.wrongType(at, "a msgpack value", c)
	}
	if err != nil {
		return err
	}
	if err := r.need(at, n); err != nil {
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
