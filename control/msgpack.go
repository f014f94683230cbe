package control

import (
	"fmt"
	"math"
)

// reader decodes msgpack from one frame's payload without allocating for
// keys, in the manner of protocol's reader: every length is checked against
// the bytes that remain, so nothing allocated can exceed the frame. A nil
// stands for the zero value wherever a value is read, as the generic decoder
// allows.
type reader struct {
	b []byte
	p int
}

// maxDepth bounds nesting in skipped values: a frame of nested arrays is an
// error, not a stack overflow.
const maxDepth = 32

func (r *reader) remaining() int { return len(r.b) - r.p }

func (r *reader) errAt(at int, format string, args ...any) error {
	return fmt.Errorf(format+" at byte %d", append(args, at)...)
}

func (r *reader) byte() (byte, error) {
	if r.p >= len(r.b) {
		return 0, r.errAt(r.p, "payload ends where a value should begin")
	}
	c := r.b[r.p]
	r.p++
	return c, nil
}

func (r *reader) bigEndian(at, n int) (uint64, error) {
	if r.remaining() < n {
		return 0, r.errAt(at, "value needs %d more bytes but only %d remain", n, r.remaining())
	}
	var v uint64
	for _, c := range r.b[r.p : r.p+n] {
		v = v<<8 | uint64(c)
	}
	r.p += n
	return v, nil
}

// length reads an n-byte length of a value whose elements take at least
// minSize bytes each, refusing one that cannot fit in what remains.
func (r *reader) length(at, n, minSize int) (int, error) {
	v, err := r.bigEndian(at, n)
	if err != nil {
		return 0, err
	}
	return r.fits(at, v, minSize)
}

func (r *reader) fits(at int, v uint64, minSize int) (int, error) {
	if v*uint64(minSize) > uint64(r.remaining()) {
		return 0, r.errAt(at, "length %d cannot fit in the %d bytes that remain", v, r.remaining())
	}
	return int(v), nil
}

func (r *reader) wrongType(at int, want string, c byte) error {
	return r.errAt(at, "want %s, got marker 0x%02x", want, c)
}

func (r *reader) mapLen() (int, error) {
	at := r.p
	c, err := r.byte()
	switch {
	case err != nil:
		return 0, err
	case c >= 0x80 && c <= 0x8f:
		return r.fits(at, uint64(c&0x0f), 2)
	case c == 0xde, c == 0xdf:
		return r.length(at, 2<<(c-0xde), 2)
	case c == 0xc0:
		return 0, nil
	}
	return 0, r.wrongType(at, "map", c)
}

func (r *reader) arrayLen() (int, error) {
	at := r.p
	c, err := r.byte()
	switch {
	case err != nil:
		return 0, err
	case c >= 0x90 && c <= 0x9f:
		return r.fits(at, uint64(c&0x0f), 1)
	case c == 0xdc, c == 0xdd:
		return r.length(at, 2<<(c-0xdc), 1)
	case c == 0xc0:
		return 0, nil
	}
	return 0, r.wrongType(at, "array", c)
}

// bytes returns a string's bytes in place (binary is accepted too, as the
// generic decoder does).
func (r *reader) bytes() ([]byte, error) {
	if r.p < len(r.b) { // fixstr: nearly every key and short value
		if c := r.b[r.p]; c&0xe0 == 0xa0 {
			start, n := r.p+1, int(c&0x1f)
			if start+n <= len(r.b) {
				r.p = start + n
				return r.b[start:r.p], nil
			}
		}
	}
	at := r.p
	c, err := r.byte()
	var n int
	switch {
	case err != nil:
		return nil, err
	case c >= 0xa0 && c <= 0xbf:
		n, err = r.fits(at, uint64(c&0x1f), 1)
	case c == 0xd9, c == 0xc4:
		n, err = r.length(at, 1, 1)
	case c == 0xda, c == 0xc5:
		n, err = r.length(at, 2, 1)
	case c == 0xdb, c == 0xc6:
		n, err = r.length(at, 4, 1)
	case c == 0xc0:
		return nil, nil
	default:
		return nil, r.wrongType(at, "string", c)
	}
	if err != nil {
		return nil, err
	}
	start := r.p
	r.p += n
	return r.b[start:r.p], nil
}

func (r *reader) str() (string, error) {
	b, err := r.bytes()
	return string(b), err
}

// int reads any integer encoding into an int64.
func (r *reader) int() (int64, error) {
	at := r.p
	c, err := r.byte()
	switch {
	case err != nil:
		return 0, err
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
	case c == 0xc0:
		return 0, nil
	}
	return 0, r.wrongType(at, "integer", c)
}

// uint reads an integer in 0..max, whichever encoding the sender chose.
func (r *reader) uint(max uint64) (uint64, error) {
	at := r.p
	if r.p < len(r.b) && r.b[r.p] == 0xcf { // uint64: may exceed MaxInt64
		r.p++
		v, err := r.bigEndian(at, 8)
		if err == nil && v > max {
			return 0, r.errAt(at, "value %d exceeds the maximum %d", v, max)
		}
		return v, err
	}
	v, err := r.int()
	switch {
	case err != nil:
		return 0, err
	case v < 0:
		return 0, r.errAt(at, "want an unsigned integer, got %d", v)
	case uint64(v) > max:
		return 0, r.errAt(at, "value %d exceeds the maximum %d", v, max)
	}
	return uint64(v), nil
}

// value returns the encoding of the next value, for the generic decoder.
func (r *reader) value() ([]byte, error) {
	at := r.p
	if err := r.skip(0); err != nil {
		return nil, err
	}
	return r.b[at:r.p], nil
}

// skip passes over one value of any type.
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
		n, err = r.length(at, 1, 1)
	case c == 0xc5, c == 0xda:
		n, err = r.length(at, 2, 1)
	case c == 0xc6, c == 0xdb:
		n, err = r.length(at, 4, 1)
	case c == 0xc7, c == 0xc8, c == 0xc9: // ext 8/16/32: length, type byte, data
		n, err = r.length(at, 1<<(c-0xc7), 1)
		n++
	case c == 0xca:
		n = 4
	case c == 0xcb:
		n = 8
	case c >= 0xcc && c <= 0xcf:
		n = 1 << (c - 0xcc)
	case c >= 0xd0 && c <= 0xd3:
		n = 1 << (c - 0xd0)
	case c >= 0xd4 && c <= 0xd8: // fixext: type byte and 1 to 16 bytes
		n = 1 + 1<<(c-0xd4)
	case c == 0xdc, c == 0xdd:
		if n, err = r.length(at, 2<<(c-0xdc), 1); err == nil {
			return r.skipN(n, depth)
		}
	case c == 0xde, c == 0xdf:
		if n, err = r.length(at, 2<<(c-0xde), 2); err == nil {
			return r.skipN(2*n, depth)
		}
	default:
		return r.wrongType(at, "a msgpack value", c)
	}
	if err != nil {
		return err
	}
	if r.remaining() < n {
		return r.errAt(at, "value needs %d more bytes but only %d remain", n, r.remaining())
	}
	r.p += n
	return nil
}

func (r *reader) skipN(n, depth int) error {
	for range n {
		if err := r.skip(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

// fields reads a map, calling fn with each key (valid only during the
// call) to read or skip its value.
func (r *reader) fields(what string, fn func(key []byte) error) error {
	n, err := r.mapLen()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for range n {
		key, err := r.bytes()
		if err != nil {
			return fmt.Errorf("%s: key: %w", what, err)
		}
		if err := fn(key); err != nil {
			return fmt.Errorf("%s.%s: %w", what, key, err)
		}
	}
	return nil
}
