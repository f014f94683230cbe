package protocol

import (
	"encoding/binary"
	"errors"
	"io"
)

// HeaderSize is the length prefix: 4 bytes, big-endian, counting the payload
// only.
const HeaderSize = 4

// DefaultMaxFrame is the largest payload a Conn accepts unless configured
// otherwise.
const DefaultMaxFrame = 4 << 20

// ReadFrame reads one frame from r into buf (grown if needed) and returns the
// payload. The length is checked against limit (DefaultMaxFrame when limit is
// not positive) before anything is read, and a payload larger than buf is
// read in steps that at most double what has already arrived: a length
// prefix that lies, from a peer that then sends nothing, costs memory in
// proportion to the bytes that really came, not to the length it claimed. A
// stream that ends cleanly between frames returns io.EOF.
func ReadFrame(r io.Reader, buf []byte, limit int) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxFrame // a zero limit must not mean "no limit"
	}
	var hdr [HeaderSize]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errorf(ErrTruncated, "", "", "stream ended after %d of %d length bytes", n, HeaderSize)
		}
		return nil, err
	}
	size := binary.BigEndian.Uint32(hdr[:])
	switch {
	case size == 0:
		return nil, &Error{Code: ErrZeroLength, Detail: "length prefix is 0; every frame carries a message"}
	case uint64(size) > uint64(limit):
		return nil, errorf(ErrFrameTooLarge, "", "", "length prefix %d exceeds the limit of %d bytes", size, limit)
	}
	buf, err := readPayload(r, buf[:0], int(size))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, errorf(ErrTruncated, "", "", "stream ended after %d of %d payload bytes", len(buf), size)
		}
		return nil, err
	}
	return buf, nil
}

// readPayload reads size bytes into buf, growing it only as bytes arrive.
func readPayload(r io.Reader, buf []byte, size int) ([]byte, error) {
	for len(buf) < size {
		want := size
		if cap(buf) < size {
			want = min(size, max(2*len(buf), minReadBuffer, growStep, cap(buf)))
		}
		if cap(buf) < want {
			grown := make([]byte, len(buf), want)
			copy(grown, buf)
			buf = grown
		}
		n, err := io.ReadFull(r, buf[len(buf):want])
		buf = buf[:len(buf)+n]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// minReadBuffer keeps a stream of small frames from reallocating while each
// grows a little.
const minReadBuffer = 4 << 10

// growStep is how much of a large payload is allocated before any of it has
// arrived: enough that a frame of ordinary size is read in one step.
const growStep = 64 << 10

// AppendFrame appends m as a complete frame (length prefix and payload).
func AppendFrame(dst []byte, m Message) ([]byte, error) {
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst, err := Append(dst, m)
	if err != nil {
		return dst[:at], err
	}
	binary.BigEndian.PutUint32(dst[at:], uint32(len(dst)-at-HeaderSize))
	return dst, nil
}
