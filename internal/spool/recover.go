package spool

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// recovery is what Open found in an existing file.
type recovery struct {
	size  int64  // the file's length as found
	acked uint64 // the acked sequence its header holds
	items uint64 // records past it, now the file's items
	cut   int64  // bytes cut from its tail: torn, damaged, or past the budget
	last  uint64 // the sequence of the last whole record, acked or not
}

// recover walks the records after the header, keeps the unacked ones and
// cuts the file at the first record that is not whole and sound: the tail
// a crash tore, or what lies past the budget. It never holds more than one
// buffer of the file in memory, whatever a length field claims.
func (f *file) recover(rec recovery) (recovery, error) {
	end := min(rec.size, f.limit)
	br := bufio.NewReaderSize(io.NewSectionReader(f.f, headerSize, end-headerSize), spillBuffer)
	off := int64(headerSize)
	f.headOff = off
	var last uint64
	for {
		r, ok, err := scanRecord(br, end-off)
		if err != nil {
			return rec, fmt.Errorf("spool file %s: reading the record at offset %d: %w", f.path, off, err)
		}
		if !ok || r.seq <= last {
			break
		}
		off += recHeader + r.length
		last = r.seq
		if r.seq <= rec.acked {
			f.headOff = off
			continue
		}
		if rec.items == 0 {
			f.headSeq = r.seq
		}
		rec.items++
	}
	if off < rec.size {
		if err := f.f.Truncate(off); err != nil {
			return rec, fmt.Errorf("spool file %s: cutting its torn tail at offset %d: %w", f.path, off, err)
		}
		rec.cut = rec.size - off
	}
	f.tailOff, f.tailOrd, f.lastSeq, rec.last = off, rec.items, last, last
	if rec.items == 0 && off > headerSize {
		if err := f.empty(); err != nil {
			return rec, err
		}
	}
	return rec, nil
}

// scanRecord reads the next record from br, of which avail bytes are left,
// checksumming its data as it passes. ok is false for a record that is not
// whole or does not match its checksum; err is for a failed read.
func scanRecord(br *bufio.Reader, avail int64) (r recordHead, ok bool, err error) {
	var h [recHeader]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return r, false, eofIsTorn(err)
	}
	r, ok = parseHead(h[:], avail)
	if !ok {
		return r, false, nil
	}
	c := headerCRC(h[:])
	for rem := r.length; rem > 0; {
		b, err := br.Peek(int(min(rem, int64(br.Size()))))
		c = crc32Update(c, b)
		br.Discard(len(b))
		rem -= int64(len(b))
		if err != nil && rem > 0 {
			return r, false, eofIsTorn(err)
		}
	}
	return r, c == r.crc, nil
}

// eofIsTorn turns the end of the file inside a record into a torn record,
// not an error.
func eofIsTorn(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	return err
}
