package spool

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/plugvisor/plugvisor/internal/private"
	"github.com/plugvisor/plugvisor/internal/ring"
)

// file is the spool's second tier. Its items are the records between
// headOff and tailOff; ordinals count records, so that the number held is
// known though sequence numbers may jump between the runs that wrote them.
type file struct {
	f     *os.File
	path  string
	limit int64 // the tail never passes it: the header and Options.FileBytes

	headOff, tailOff int64
	headOrd, tailOrd uint64
	headSeq, lastSeq uint64 // of the first and last record held, when any

	// Where recent reads ended, so that the next read and the ack of a
	// window find their record without walking the file from its head.
	marks *ring.Ring[mark]

	w     *bufio.Writer // made at the first spill: a spool that never spills needs none
	tw    tailWriter
	batch batch
}

// mark says that the records after seq last start at off, ordinal ord.
type mark struct {
	last uint64
	ord  uint64
	off  int64
}

// pos is a record's place: its ordinal, offset and sequence.
type pos struct {
	ord uint64
	off int64
	seq uint64
}

// batch is what a spill has written past the tail and not yet committed.
type batch struct {
	end         int64
	n           uint64
	first, last uint64
}

// tailWriter writes at off, which it advances: appends that leave the
// header alone, which O_APPEND would not.
type tailWriter struct {
	f   *os.File
	off int64
}

func (t *tailWriter) Write(p []byte) (int, error) {
	n, err := t.f.WriteAt(p, t.off)
	t.off += int64(n)
	return n, err
}

const spillBuffer = 32 << 10

// openFile opens the spool file at path, creating it and its directory
// (0700) when missing, and recovers what it holds: see recover.
func openFile(path string, budget int64) (*file, recovery, error) {
	if err := private.Dir(filepath.Dir(path), "spool directory", private.Closed); err != nil {
		return nil, recovery{}, err
	}
	if err := createFile(path); err != nil {
		return nil, recovery{}, err
	}
	osf, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, recovery{}, fmt.Errorf("spool file: %w (a symbolic link is refused)", err)
	}
	f := &file{f: osf, path: path, limit: headerSize + budget, marks: ring.New[mark](64)}
	f.tw.f = osf
	rec, err := f.check()
	if err == nil {
		rec, err = f.recover(rec)
	}
	if err != nil {
		osf.Close()
		return nil, recovery{}, err
	}
	return f, rec, nil
}

// createFile makes a new spool file at path, 0600, holding a header; a file
// already there is left for check to judge.
func createFile(path string) error {
	c, err := private.Create(path)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("spool file: %w", err)
	}
	_, err = c.Write(newHeader())
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spool file %s: writing its header: %w", path, err)
	}
	return nil
}

// check takes the file for this process alone and refuses one that is not
// a private regular file of this user; it returns the acked sequence.
func (f *file) check() (recovery, error) {
	st, err := f.f.Stat()
	if err != nil {
		return recovery{}, fmt.Errorf("spool file: %w", err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	switch {
	case !st.Mode().IsRegular():
		return recovery{}, fmt.Errorf("spool file %s is not a regular file", f.path)
	case !ok || int(sys.Uid) != os.Getuid():
		return recovery{}, fmt.Errorf("spool file %s does not belong to this user (uid %d)", f.path, os.Getuid())
	case st.Mode().Perm()&0o077 != 0:
		return recovery{}, fmt.Errorf("spool file %s has mode %04o; it must be 0600 (chmod 600 %s)", f.path, st.Mode().Perm(), f.path)
	}
	if err := unix.Flock(int(f.f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return recovery{}, fmt.Errorf("spool file %s is in use by another spool: %w", f.path, err)
	}
	if st.Size() == 0 {
		// Created, then a crash before its header: nothing was spooled.
		if _, err := f.f.WriteAt(newHeader(), 0); err != nil {
			return recovery{}, fmt.Errorf("spool file %s: writing its header: %w", f.path, err)
		}
		return recovery{size: headerSize}, nil
	}
	if st.Size() < headerSize {
		return recovery{}, fmt.Errorf("spool file %s is %d bytes, shorter than a spool file's header", f.path, st.Size())
	}
	h := make([]byte, headerSize)
	if _, err := f.f.ReadAt(h, 0); err != nil {
		return recovery{}, fmt.Errorf("spool file %s: reading its header: %w", f.path, err)
	}
	acked, err := checkHeader(f.path, h)
	return recovery{size: st.Size(), acked: acked}, err
}

func (f *file) items() uint64 { return f.tailOrd - f.headOrd }

// live is the bytes of the records held, headers included.
func (f *file) live() int64 { return f.tailOff - f.headOff }

// used is what counts against the budget: acked records too, until the file
// empties and is cut back.
func (f *file) used() int64 { return f.tailOff - headerSize }

// begin starts a spill at the tail.
func (f *file) begin() {
	if f.w == nil {
		f.w = bufio.NewWriterSize(&f.tw, spillBuffer)
	}
	f.tw.off = f.tailOff
	f.batch = batch{end: f.tailOff}
}

// add writes the record of data, seq, to the batch if the file has room.
// Write errors stick in the buffered writer and come out of commit.
func (f *file) add(seq uint64, data []byte) bool {
	n := recHeader + int64(len(data))
	if f.batch.end+n > f.limit {
		return false
	}
	var h [recHeader]byte
	putRecordHeader(&h, seq, data)
	f.w.Write(h[:])
	f.w.Write(data)
	if f.batch.n == 0 {
		f.batch.first = seq
	}
	f.batch.end += n
	f.batch.n++
	f.batch.last = seq
	return true
}

// commit makes the batch the file's new tail, or on a failed write takes it
// back, cutting what part of it reached the file.
func (f *file) commit() error {
	b := f.batch
	f.batch = batch{}
	if err := f.w.Flush(); err != nil {
		f.w.Reset(&f.tw)
		_ = f.f.Truncate(f.tailOff)
		return fmt.Errorf("spool file %s: spilling %d items: %w", f.path, b.n, err)
	}
	if b.n == 0 {
		return nil
	}
	if f.items() == 0 {
		f.headSeq = b.first
	}
	f.tailOff, f.tailOrd, f.lastSeq = b.end, f.tailOrd+b.n, b.last
	return nil
}

// head reads the header of the record at off.
func (f *file) head(off int64) (recordHead, error) {
	var h [recHeader]byte
	if _, err := f.f.ReadAt(h[:], off); err != nil {
		return recordHead{}, fmt.Errorf("spool file %s: %w: record at offset %d: %w", f.path, errUnreadable, off, err)
	}
	r, ok := parseHead(h[:], f.tailOff-off)
	if !ok {
		return recordHead{}, f.damaged(off, "its length or sequence is out of bounds")
	}
	return r, nil
}

func (f *file) damaged(off int64, what string) error {
	return fmt.Errorf("spool file %s: %w: record at offset %d: %s", f.path, errUnreadable, off, what)
}

// locate finds the first record with a sequence past after, or the tail.
func (f *file) locate(after uint64) (pos, error) {
	p := pos{ord: f.headOrd, off: f.headOff}
	for i := range f.marks.Len() {
		if m := f.marks.At(i); m.last <= after && m.ord > p.ord && m.ord <= f.tailOrd {
			p = pos{ord: m.ord, off: m.off}
		}
	}
	for ; p.ord < f.tailOrd; p.ord++ {
		r, err := f.head(p.off)
		if err != nil {
			return pos{}, err
		}
		if r.seq > after {
			p.seq = r.seq
			return p, nil
		}
		p.off += recHeader + r.length
	}
	return p, nil
}

// read appends the records past after to dst, up to maxItems and maxBytes
// of data (but at least one), and reports the data bytes it appended and
// whether it reached the tail.
func (f *file) read(dst []Item, after uint64, maxItems, maxBytes int) ([]Item, int, bool, error) {
	n0 := len(dst)
	p, err := f.locate(after)
	if err != nil {
		return dst, 0, false, err
	}
	// One read for the batch; the data handed out are slices of it. Its
	// size is the caller's bound or what the file holds, whichever is less
	// (compared so that a bound of MaxInt does not overflow).
	want := f.tailOff - p.off
	if extra := recHeader * int64(min(maxItems, 1024)); int64(max(maxBytes, 0)) < want-extra {
		want = int64(maxBytes) + extra
	}
	var buf []byte
	taken, bytes, last := 0, 0, after
	for p.ord < f.tailOrd && taken < maxItems {
		if len(buf) < recHeader {
			if taken > 0 {
				break
			}
			if buf, err = f.readChunk(p.off, want); err != nil {
				return dst[:n0], 0, false, err
			}
		}
		r, ok := parseHead(buf, f.tailOff-p.off)
		if !ok || r.seq <= last {
			return dst[:n0], 0, false, f.damaged(p.off, "its length or sequence is out of bounds")
		}
		n := recHeader + r.length
		if int64(len(buf)) < n {
			if taken > 0 {
				break
			}
			// The first record is larger than the batch's read: it alone.
			if buf, err = f.readChunk(p.off, n); err != nil {
				return dst[:n0], 0, false, err
			}
		}
		data := buf[recHeader:n:n]
		if taken > 0 && bytes+len(data) > maxBytes {
			break
		}
		if recordCRC(buf, data) != r.crc {
			return dst[:n0], 0, false, f.damaged(p.off, "its checksum does not match")
		}
		dst = append(dst, Item{Seq: r.seq, Data: data})
		buf = buf[n:]
		p.off += n
		p.ord++
		last = r.seq
		taken++
		bytes += len(data)
	}
	f.marks.Push(mark{last: last, ord: p.ord, off: p.off})
	return dst, bytes, p.ord == f.tailOrd, nil
}

// readChunk reads n bytes from off, n bounded by the file's live records.
func (f *file) readChunk(off, n int64) ([]byte, error) {
	buf := make([]byte, n)
	if _, err := f.f.ReadAt(buf, off); err != nil {
		return nil, fmt.Errorf("spool file %s: %w: %d bytes at offset %d: %w", f.path, errUnreadable, n, off, err)
	}
	return buf, nil
}

// ack removes the records up to seq and reports how many. An error wrapping
// errUnreadable means the file could not be read; any other, that the acked
// sequence was not saved, which costs only items sent twice after a crash.
func (f *file) ack(seq uint64) (uint64, error) {
	if f.items() == 0 || seq < f.headSeq {
		return 0, nil
	}
	if seq >= f.lastSeq {
		n := f.items()
		return n, f.empty()
	}
	p, err := f.locate(seq)
	if err != nil {
		return 0, err
	}
	n := p.ord - f.headOrd
	f.headOrd, f.headOff, f.headSeq = p.ord, p.off, p.seq
	var b [12]byte
	putAck(b[:], seq)
	if _, err := f.f.WriteAt(b[:], ackAt); err != nil {
		return n, fmt.Errorf("spool file %s: saving the acked sequence: %w", f.path, err)
	}
	return n, nil
}

// empty lets go of every record and cuts the file back to its header, so
// its space is used again.
func (f *file) empty() error {
	f.headOrd, f.headOff = f.tailOrd, f.tailOff
	f.marks.Reset()
	if err := f.f.Truncate(headerSize); err != nil {
		// The records are let go all the same; the space comes back at the
		// next time the file empties.
		return fmt.Errorf("spool file %s: cutting it back: %w", f.path, err)
	}
	f.headOff, f.tailOff = headerSize, headerSize
	return nil
}

// close saves what was written against a power loss and lets the file go,
// and its lock with it.
func (f *file) close() error {
	err := f.f.Sync()
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spool file %s: %w", f.path, err)
	}
	return nil
}
