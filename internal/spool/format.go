package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"
)

const (
	magic      = "pvspool\x00"
	version    = 1
	headerSize = 32
	ackAt      = 16 // where the acked sequence and its checksum sit in the header
	recHeader  = 16 // length, checksum and sequence before each record's data
)

// castagnoli is made at first use: every start of plugvisor would pay for
// a table at init that only a fleet with a spool file needs.
var castagnoli = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

// errUnreadable marks a file that no longer reads back as what was written
// (a damaged disk, another writer): what it still holds cannot be trusted.
var errUnreadable = errors.New("unreadable")

func newHeader() []byte {
	b := make([]byte, headerSize)
	copy(b, magic)
	binary.LittleEndian.PutUint32(b[8:], version)
	putAck(b[ackAt:], 0)
	return b
}

// checkHeader reports what is wrong with the header b of the file at path,
// and the acked sequence it holds; an ack torn by a crash reads as zero.
func checkHeader(path string, b []byte) (uint64, error) {
	if string(b[:8]) != magic {
		return 0, fmt.Errorf("spool file %s is not a spool file (magic %q)", path, b[:8])
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != version {
		return 0, fmt.Errorf("spool file %s has format version %d; this plugvisor reads version %d", path, v, version)
	}
	a := b[ackAt:]
	if crc32.Checksum(a[:8], castagnoli()) != binary.LittleEndian.Uint32(a[8:]) {
		return 0, nil
	}
	return binary.LittleEndian.Uint64(a), nil
}

// putAck encodes the acked sequence seq in 12 bytes of b.
func putAck(b []byte, seq uint64) {
	binary.LittleEndian.PutUint64(b, seq)
	binary.LittleEndian.PutUint32(b[8:], crc32.Checksum(b[:8], castagnoli()))
}

// putRecordHeader encodes the header of the record of data with seq in h.
func putRecordHeader(h *[recHeader]byte, seq uint64, data []byte) {
	binary.LittleEndian.PutUint32(h[0:], uint32(len(data)))
	binary.LittleEndian.PutUint64(h[8:], seq)
	binary.LittleEndian.PutUint32(h[4:], recordCRC(h[:], data))
}

// headerCRC starts a record's checksum: the length and the sequence.
func headerCRC(h []byte) uint32 {
	return crc32.Update(crc32.Checksum(h[0:4], castagnoli()), castagnoli(), h[8:16])
}

// recordCRC is the checksum of the record with header h and data.
func recordCRC(h, data []byte) uint32 {
	return crc32.Update(headerCRC(h), castagnoli(), data)
}

// recordHead is what a record's header says.
type recordHead struct {
	length int64
	crc    uint32
	seq    uint64
}

// parseHead decodes a record header, refusing a length that runs past avail
// bytes (what the file holds from the record on) before anything trusts it.
func parseHead(h []byte, avail int64) (recordHead, bool) {
	r := recordHead{
		length: int64(binary.LittleEndian.Uint32(h[0:])),
		crc:    binary.LittleEndian.Uint32(h[4:]),
		seq:    binary.LittleEndian.Uint64(h[8:]),
	}
	return r, r.seq != 0 && r.length <= avail-recHeader
}

func crc32Update(c uint32, b []byte) uint32 { return crc32.Update(c, castagnoli(), b) }
