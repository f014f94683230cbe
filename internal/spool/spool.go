package spool

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/plugvisor/plugvisor/internal/ring"
)

// Options configures a spool.
type Options struct {
	// MemoryBytes bounds the memory tier: each item is charged the
	// capacity of its data and itemCost for its place in the spool.
	MemoryBytes int64
	// FileBytes bounds the file tier's records, headers included; 0 means
	// no file, and Path is then not used (a file left there is neither
	// read nor removed).
	FileBytes int64
	// Path is the file; its directory is made 0700 if missing and must be
	// closed to group and others.
	Path string
	// First is the sequence number of the first item pushed (0 means 1, so
	// that a cursor of 0 is before every item). After a restart that
	// recovered items, numbering goes on past the last of them if First is
	// not already past it: give a First beyond the previous run's numbers
	// (from the clock, say) for message ids that never repeat.
	First uint64
}

// itemCost is what an item costs the memory tier beyond its data: its
// slice header and its size in the ring.
const itemCost = 32

// spillSlack is the share of the memory budget a spill frees beyond what
// the new item needs, so that a spool under steady overflow pays one write
// for many items rather than one per push.
const spillSlack = 8

// Item is a spooled message and its sequence number. Data is shared with
// the spool: it must not be changed.
type Item struct {
	Seq  uint64
	Data []byte
}

// Stats is a spool's counts. Pushed + Recovered = Acked + Dropped + the
// items held.
type Stats struct {
	MemoryItems int
	MemoryBytes int64 // as charged against Options.MemoryBytes
	FileItems   int
	FileBytes   int64 // of the records held, headers included
	FileUsed    int64 // what counts against Options.FileBytes: acked records too, until the file empties

	Pushed       uint64 // every Push, kept or dropped
	Dropped      uint64 // items that found no room, or were lost at Close or to a damaged file
	DroppedBytes uint64 // their data
	Acked        uint64
	Recovered    uint64 // items found in the file at Open
	CutBytes     int64  // cut from the file's tail at Open: torn, damaged, or past FileBytes

	FileErrors    uint64
	LastFileError error
}

// Spool is a two-tier bounded store of items in push order. It is safe
// for concurrent use; it is made for one pusher and one reader.
type Spool struct {
	mu        sync.Mutex
	mem       *ring.Ring[[]byte]
	memBudget int64
	memHead   uint64 // the sequence of mem's oldest item; mem's are consecutive
	next      uint64
	file      *file // nil without a file tier
	ready     chan struct{}
	closed    bool
	stats     Stats
}

// Open makes a spool, recovering the items a file at opts.Path holds.
func Open(opts Options) (*Spool, error) {
	switch {
	case opts.MemoryBytes <= itemCost:
		return nil, fmt.Errorf("spool: MemoryBytes %d must be more than %d", opts.MemoryBytes, itemCost)
	case opts.MemoryBytes > math.MaxUint32:
		return nil, fmt.Errorf("spool: MemoryBytes %d is more than an item may hold (%d)", opts.MemoryBytes, uint32(math.MaxUint32))
	case opts.FileBytes < 0:
		return nil, fmt.Errorf("spool: FileBytes %d is negative", opts.FileBytes)
	case opts.FileBytes > 0 && opts.Path == "":
		return nil, errors.New("spool: FileBytes without a Path")
	}
	s := &Spool{
		// Every item costs at least itemCost, so the budget binds before
		// the count: the ring never drops an item itself.
		mem:       ring.New[[]byte](int(opts.MemoryBytes/itemCost)+1, ring.WithBudget(opts.MemoryBytes, charge)),
		memBudget: opts.MemoryBytes,
		next:      max(opts.First, 1),
		ready:     make(chan struct{}, 1),
	}
	if opts.FileBytes > 0 {
		f, rec, err := openFile(opts.Path, opts.FileBytes)
		if err != nil {
			return nil, err
		}
		s.file = f
		s.stats.Recovered, s.stats.CutBytes = rec.items, rec.cut
		// Past the acked sequence too: a file emptied by acks keeps it, and
		// a record numbered at or below it would be taken for acked.
		s.next = max(s.next, rec.last+1, rec.acked+1)
		if rec.items > 0 {
			s.ready <- struct{}{}
		}
	}
	s.memHead = s.next
	return s, nil
}

func charge(b []byte) int64 { return int64(cap(b)) + itemCost }

// Push appends data, which the spool keeps (the caller must not change it
// afterwards), and returns its sequence number. When neither tier has room
// it drops data, counts it, and returns false; it never waits for a reader.
// A push that finds memory full writes its oldest items to the file, an
// eighth of memory's budget at once, so most pushes write nothing.
func (s *Spool) Push(data []byte) (uint64, bool) {
	c := charge(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Pushed++
	if s.closed || c > s.memBudget || !s.roomLocked(c) {
		s.stats.Dropped++
		s.stats.DroppedBytes += uint64(len(data))
		return 0, false
	}
	seq := s.next
	s.next++
	s.mem.PushCharged(data, c)
	select {
	case s.ready <- struct{}{}:
	default:
	}
	return seq, true
}

// roomLocked makes room in memory for c more bytes, spilling the oldest
// items to the file, and reports whether there is.
func (s *Spool) roomLocked(c int64) bool {
	if s.mem.Bytes()+c <= s.memBudget {
		return true
	}
	if s.file != nil {
		s.spillLocked(s.memBudget - s.memBudget/spillSlack - c)
	}
	return s.mem.Bytes()+c <= s.memBudget
}

// spillLocked moves the oldest items of memory to the file while memory
// holds more than until bytes and the file has room.
func (s *Spool) spillLocked(until int64) {
	f := s.file
	f.begin()
	var freed int64
	n := 0
	for ; n < s.mem.Len() && s.mem.Bytes()-freed > until; n++ {
		data := s.mem.At(n)
		if !f.add(s.memHead+uint64(n), data) {
			break
		}
		freed += charge(data)
	}
	if err := f.commit(); err != nil {
		s.noteLocked(err)
		return
	}
	// Each item costs more than nothing, so this drops exactly the n.
	s.mem.Trim(s.mem.Bytes() - freed)
	s.memHead += uint64(n)
}

// Next appends to dst the items with a sequence past after, oldest first,
// up to maxItems and maxBytes of data (but at least one item when there
// is one), and returns it; it removes nothing. A cursor of 0, or the last
// acked sequence, reads from the head: what a publisher does after a
// disconnect. Data read from the file are fresh copies; from memory, the
// pushed slices.
func (s *Spool) Next(dst []Item, after uint64, maxItems, maxBytes int) []Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || maxItems <= 0 {
		return dst
	}
	start, bytes := len(dst), 0
	if f := s.file; f != nil && f.items() > 0 && after < f.lastSeq {
		var atEnd bool
		var err error
		dst, bytes, atEnd, err = f.read(dst, after, maxItems, maxBytes)
		switch {
		case err != nil:
			s.lostFileLocked(err)
		case !atEnd:
			return dst
		}
	}
	i := uint64(0)
	if after >= s.memHead {
		i = after - s.memHead + 1
	}
	for ; i < uint64(s.mem.Len()) && len(dst)-start < maxItems; i++ {
		data := s.mem.At(int(i))
		if len(dst) > start && bytes+len(data) > maxBytes {
			break
		}
		dst = append(dst, Item{Seq: s.memHead + i, Data: data[:len(data):len(data)]})
		bytes += len(data)
	}
	return dst
}

// Ack removes every item with a sequence up to seq.
func (s *Spool) Ack(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if f := s.file; f != nil {
		n, err := f.ack(seq)
		switch {
		case errors.Is(err, errUnreadable):
			s.lostFileLocked(err)
		case err != nil:
			s.noteLocked(err)
		}
		s.stats.Acked += n
	}
	if seq < s.memHead || s.mem.Len() == 0 {
		return
	}
	n := min(seq-s.memHead+1, uint64(s.mem.Len()))
	var freed int64
	for i := range int(n) {
		freed += charge(s.mem.At(i))
	}
	s.mem.Trim(s.mem.Bytes() - freed)
	s.memHead += n
	s.stats.Acked += n
}

// Ready is signalled after a push: a reader that found nothing past its
// cursor waits on it instead of polling. It may be signalled when nothing
// new is there; the reader then finds nothing and waits again.
func (s *Spool) Ready() <-chan struct{} { return s.ready }

// Len is the number of items held.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lenLocked()
}

func (s *Spool) lenLocked() int {
	n := s.mem.Len()
	if s.file != nil {
		n += int(s.file.items())
	}
	return n
}

// Bytes is what the items held are charged, in both tiers.
func (s *Spool) Bytes() int64 {
	st := s.Stats()
	return st.MemoryBytes + st.FileBytes
}

// Stats returns the spool's counts.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.MemoryItems, st.MemoryBytes = s.mem.Len(), s.mem.Bytes()
	if f := s.file; f != nil {
		st.FileItems, st.FileBytes, st.FileUsed = int(f.items()), f.live(), f.used()
	}
	return st
}

// Close moves what memory holds to the file as far as it has room, so a
// restart finds it, and lets the file go. What stays in memory is lost and
// counted as dropped. Push, Next and Ack do nothing after Close.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.file != nil {
		s.spillLocked(0)
		err = s.file.close()
	}
	for i := range s.mem.Len() {
		s.stats.Dropped++
		s.stats.DroppedBytes += uint64(len(s.mem.At(i)))
	}
	s.mem.Reset()
	return err
}

// lostFileLocked gives up the file's items after it failed to read back:
// they are counted as dropped, and the file starts over empty.
func (s *Spool) lostFileLocked(err error) {
	f := s.file
	n := f.items()
	s.stats.Dropped += n
	s.stats.DroppedBytes += uint64(f.live() - int64(n)*recHeader)
	s.noteLocked(err)
	if err := f.empty(); err != nil {
		s.noteLocked(err)
	}
}

func (s *Spool) noteLocked(err error) {
	s.stats.FileErrors++
	s.stats.LastFileError = err
}
