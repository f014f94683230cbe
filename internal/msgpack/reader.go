package msgpack

import (
	"fmt"
	"math"
)

// maxDepth bounds nesting when skipping values, so a hostile frame of nested
// arrays cannot exhaust the stack.
const maxDepth = 32

// Reader decodes msgpack from a byte slice. Every length it reads is checked
// against the bytes that remain, so no allocation can exceed the frame itself.
// Errors name the offset at which the offending value begins.
//
// Unless Loose is set its reads are strict: a value of another type, nil
// included, is an error, and a string must be a str, not a bin. A protocol
// whose optional fields may be nil asks IsNil first.
type Reader struct {
	Buf []byte // the payload
	Pos int    // where the next value begins; a caller may set it back to a position it has read from

	// Loose reads as a generic decoder does: a nil where a value is wanted
	// is that value's zero value (an empty map, array or string, or 0), and
	// a bin where a string is wanted is taken for one.
	Loose bool
}

// Remaining is how many bytes follow Pos.
func (r *Reader) Remaining() int { return len(r.Buf) - r.Pos }

func (r *Reader) errAt(at int, format string, args ...any) error {
	return fmt.Errorf(format+" at byte %d", append(args, at)...)
}

// need checks that n more bytes follow for the value that began at at.
func (r *Reader) need(at, n int) error {
	if r.Remaining() < n {
		return r.errAt(at, "value needs %d more bytes but only %d remain", n, r.Remaining())
	}
	return nil
}

func (r *Reader) byte() (byte, error) {
	if r.Pos >= len(r.Buf) {
		return 0, r.endErr()
	}
	c := r.Buf[r.Pos]
	r.Pos++
	return c, nil
}

// endErr is out of line to keep byte small.
func (r *Reader) endErr() error {
	return r.errAt(r.Pos, "payload ends where a value should begin")
}

func (r *Reader) bigEndian(at, n int) (uint64, error) {
	if err := r.need(at, n); err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range r.Buf[r.Pos : r.Pos+n] {
		v = v<<8 | uint64(c)
	}
	r.Pos += n
	return v, nil
}

// count reads the n-byte length that follows the container or string marker
// at at, and checks it with fits.
func (r *Reader) count(at, n, minSize int, what string) (int, error) {
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
func (r *Reader) fits(at int, v uint64, minSize int, what string) (int, error) {
	if v*uint64(minSize) > uint64(r.Remaining()) {
		return 0, r.errAt(at, "%s of length %d cannot fit in the %d bytes that remain", what, v, r.Remaining())
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
func (r *Reader) wrongType(at int, want string, c byte) error {
	r.Pos = at
	return r.errAt(at, "want %s, got %s (0x%02x)", want, typeName(c), c)
}

// MapHeader reads a map's header and returns its number of entries.
func (r *Reader) MapHeader() (int, error) {
	at := r.Pos
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
	case c == 0xc0 && r.Loose:
		return 0, nil
	}
	return 0, r.wrongType(at, "map", c)
}

// ArrayHeader reads an array's header and returns its number of elements.
func (r *Reader) ArrayHeader() (int, error) {
	at := r.Pos
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
	case c == 0xc0 && r.Loose:
		return 0, nil
	}
	return 0, r.wrongType(at, "array", c)
}

// StrSpan returns the offset in Buf and the length of a string's bytes, so
// callers can slice one shared string instead of allocating one per value.
// Binary is refused unless Loose: the plugin protocol says strings are str,
// and accepting both would leave every other implementation guessing.
func (r *Reader) StrSpan() (int, int, error) {
	// Fast path: a fixstr that fits, which is nearly every key and value.
	if r.Pos < len(r.Buf) {
		if c := r.Buf[r.Pos]; c&0xe0 == 0xa0 {
			start, n := r.Pos+1, int(c&0x1f)
			if start+n <= len(r.Buf) {
				r.Pos = start + n
				return start, n, nil
			}
		}
	}
	return r.strSpanSlow()
}

func (r *Reader) strSpanSlow() (int, int, error) {
	at := r.Pos
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
	case c >= 0xc4 && c <= 0xc6 && r.Loose: // bin 8/16/32
		n, err = r.count(at, 1<<(c-0xc4), 1, "binary")
	case c == 0xc0 && r.Loose:
		return r.Pos, 0, nil
	default:
		return 0, 0, r.wrongType(at, "string", c)
	}
	if err != nil {
		return 0, 0, err
	}
	start := r.Pos
	r.Pos += n
	return start, n, nil
}

// StrBytes returns a string's bytes in place.
func (r *Reader) StrBytes() ([]byte, error) {
	start, n, err := r.StrSpan()
	if err != nil {
		return nil, err
	}
	return r.Buf[start : start+n], nil
}

// Str returns a string as a new string.
func (r *Reader) Str() (string, error) {
	b, err := r.StrBytes()
	return string(b), err
}

// Uint reads any msgpack integer encoding whose value is in 0..max: senders
// may pick any width, and a signed encoding of a non-negative value is fine.
func (r *Reader) Uint(max uint64) (uint64, error) {
	at := r.Pos
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
		r.Pos = at
		var i int64
		if i, err = r.Int(); err == nil && i < 0 {
			return 0, r.errAt(at, "want unsigned integer, got %d", i)
		}
		v = uint64(i)
	case c == 0xc0 && r.Loose:
		return 0, nil
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

// Int reads any msgpack integer encoding whose value fits an int64.
func (r *Reader) Int() (int64, error) {
	at := r.Pos
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
	case c == 0xc0 && r.Loose:
		return 0, nil
	}
	return 0, r.wrongType(at, "integer", c)
}

// Uint16s reads an array of versions. An empty array decodes to nil so that
// decoding what AppendUint16s wrote gives back an equal value.
func (r *Reader) Uint16s() ([]uint16, error) {
	n, err := r.ArrayHeader()
	if err != nil || n == 0 {
		return nil, err
	}
	out := make([]uint16, n)
	for i := range out {
		v, err := r.Uint(math.MaxUint16)
		if err != nil {
			return nil, err
		}
		out[i] = uint16(v)
	}
	return out, nil
}

// IsNil consumes a nil if one is next.
func (r *Reader) IsNil() bool {
	if r.Pos < len(r.Buf) && r.Buf[r.Pos] == 0xc0 {
		r.Pos++
		return true
	}
	return false
}

// Raw returns the encoding of the next value in place and moves past it.
func (r *Reader) Raw() ([]byte, error) {
	at := r.Pos
	if err := r.Skip(); err != nil {
		return nil, err
	}
	return r.Buf[at:r.Pos], nil
}

// Skip passes over one value of any type, for fields the caller ignores.
// Containers recurse, so depth is bounded: a frame of deeply nested arrays
// is an error, not a stack overflow.
func (r *Reader) Skip() error { return r.skip(0) }

func (r *Reader) skip(depth int) error {
	at := r.Pos
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
	r.Pos += n
	return nil
}

func (r *Reader) skipN(n, depth int) error {
	for range n {
		if err := r.skip(depth + 1); err != nil {
			return err
		}
	}
	return nil
}
