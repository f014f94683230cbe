// Package msgpack is the hand-written msgpack subset plugvisor's two wire protocols share: append encoders and a bounds-checked reader that allocates nothing a frame's bytes cannot hold.
package msgpack

import (
	"encoding/binary"
	"math"
	"time"
)

// The generic github.com/vmihailenco/msgpack/v5 path costs about 14
// allocations per record; records are the hot path, so they get these. The
// appenders write the smallest form of each value, as the generic library
// does with compact integers, so a frame's bytes do not depend on which path
// encoded it; the tests check every form against that library.

// AppendMapHeader writes the header of a map of n entries.
func AppendMapHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xde, byte(n>>8), byte(n))
	default:
		return append(b, 0xdf, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// AppendArrayHeader writes the header of an array of n elements.
func AppendArrayHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xdc, byte(n>>8), byte(n))
	default:
		return append(b, 0xdd, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// AppendString writes s as a str.
func AppendString(b []byte, s string) []byte {
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

// AppendUint writes u as the smallest unsigned integer that holds it.
func AppendUint(b []byte, u uint64) []byte {
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

// AppendInt writes i as the smallest integer that holds it: unsigned when
// it is not negative, as the generic library's compact integers are.
func AppendInt(b []byte, i int64) []byte {
	if i >= 0 {
		return AppendUint(b, uint64(i))
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

// AppendTime writes the msgpack timestamp extension (type -1) in its
// smallest form: 32-bit seconds, 34-bit seconds with nanoseconds, or 96 bits.
func AppendTime(b []byte, t time.Time) []byte {
	secs := uint64(t.Unix())
	if secs>>34 == 0 {
		data := uint64(t.Nanosecond())<<34 | secs
		if data&0xffffffff00000000 == 0 {
			return binary.BigEndian.AppendUint32(append(b, 0xd6, 0xff), uint32(data))
		}
		return binary.BigEndian.AppendUint64(append(b, 0xd7, 0xff), data)
	}
	b = binary.BigEndian.AppendUint32(append(b, 0xc7, 12, 0xff), uint32(t.Nanosecond()))
	return binary.BigEndian.AppendUint64(b, secs)
}

// AppendUint16s writes an array of unsigned integers, e.g. protocol versions.
func AppendUint16s(b []byte, vs []uint16) []byte {
	b = AppendArrayHeader(b, len(vs))
	for _, v := range vs {
		b = AppendUint(b, uint64(v))
	}
	return b
}

// The AppendKey forms write a map entry: the string key, then its value.

func AppendKeyString(b []byte, k, v string) []byte { return AppendString(AppendString(b, k), v) }
func AppendKeyUint(b []byte, k string, v uint64) []byte {
	return AppendUint(AppendString(b, k), v)
}
func AppendKeyInt(b []byte, k string, v int64) []byte { return AppendInt(AppendString(b, k), v) }
func AppendKeyTime(b []byte, k string, t time.Time) []byte {
	return AppendTime(AppendString(b, k), t)
}
