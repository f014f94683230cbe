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
// not positive) before anything is allocated, so a lying length field costs
// nothing. A stream that ends cleanly between frames returns io.EOF.
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
	if cap(buf) < int(size) {
		buf = make([]byte, size, max(int(size), minReadBuffer))
	}
	buf = buf[:size]
	if n, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, errorf(ErrTruncated, "", "", "stream ended after %d of %d payload bytes", n, size)
		}
		return nil, err
	}
	return buf, nil
}

// minReadBuffer keeps a stream of small frames from reallocating while each
// grows a little.
const minReadBuffer = 4 << 10

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
