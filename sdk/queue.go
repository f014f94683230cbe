package sdk

import (
	"context"
	"errors"
	"sync"

	"github.com/plugvisor/plugvisor/protocol"
)

// Batching limits. A frame carries at most maxBatchRecords records and about
// maxBatchBytes of them, so one frame never holds the connection's write lock
// (or costs the supervisor's read loop) for long; a single larger record
// still goes out, alone in its frame.
const (
	defaultQueueSize  = 64 << 10
	defaultQueueBytes = 64 << 20
	maxBatchRecords   = 4096
	maxBatchBytes     = 256 << 10
	// dataOverhead bounds a Data frame's bytes besides its records: map
	// header, "kind": "data", "records" and a 32-bit array header.
	dataOverhead = 1 + 5 + 5 + 8 + 5
	// The SDK's own immediate replies (unknown task id, plugin busy, shutting
	// down) never wait for room: they may go this far beyond the bounds, and
	// are dropped beyond that.
	urgentRecords = 1024
	urgentBytes   = 1 << 20
)

// errQueueFull refuses an immediate reply when even the reserve is used up.
var errQueueFull = errors.New("sdk: record queue full")

// item is one record in its wire form: its size is exact, and the caller's
// map was read once, when it was encoded.
type item struct {
	rec  protocol.EncodedRecord
	task bool // it carries a task's token
}

func (it *item) size() int { return it.rec.Len() }

// queue is the bounded buffer between emitters and the one writer. There is
// no timer: the writer takes whatever is queued when it is free, so a lone
// record leaves at once and a burst leaves in few frames.
//
// Shutdown closes it in two steps: refusePlain refuses records without a
// token (Emit) while task replies still go in, then close refuses everything.
type queue struct {
	limit     int // records
	byteLimit int // sum of item sizes
	maxFrame  int // payload bytes per frame

	mu       sync.Mutex
	notFull  sync.Cond
	items    []item
	head     int
	bytes    int   // sum of the sizes of items[head:]
	plainOff bool  // records without a token are refused
	closed   bool  // no more pushes
	dead     error // the writer failed: nothing more will be sent

	ready chan struct{} // capacity 1: wakes the writer

	out     func([]protocol.EncodedRecord) error // writes one frame; failures are the runner's to report
	writing bool                                 // a frame is being written, by the writer or directly
	one     [1]protocol.EncodedRecord            // a direct write's batch; only the one writing touches it
	chunkMu sync.Mutex                           // guards chunk; encoding is not done under mu
	chunk   []byte                               // where records are encoded, shared by many

	stamps stampClock // the time records without one are given

	pushed, sent, batches uint64
	progress              chan struct{} // closed and replaced whenever sent moves or dead is set
}

func newQueue(limit, byteLimit, maxFrame int) *queue {
	q := &queue{limit: limit, byteLimit: byteLimit, maxFrame: maxFrame, ready: make(chan struct{}, 1), progress: make(chan struct{})}
	q.notFull.L = &q.mu
	return q
}

// maxRecord is the largest record that fits in a frame on its own.
func (q *queue) maxRecord() int { return q.maxFrame - dataOverhead }

// batchBudget is the record bytes one frame carries when it has several.
func (q *queue) batchBudget() int { return min(q.maxFrame, maxBatchBytes) - dataOverhead }

// refusedLocked reports whether it may no longer be queued.
func (q *queue) refusedLocked(it *item) bool {
	return q.closed || (q.plainOff && !it.task)
}

// fullLocked reports whether it must wait for room. A record larger than the
// byte bound still goes into an empty queue.
func (q *queue) fullLocked(it *item) bool {
	return len(q.items)-q.head >= q.limit || (q.bytes > 0 && q.bytes+it.size() > q.byteLimit)
}

// send writes a task's record at once on the caller's goroutine when
// nothing is queued and no frame is being written: a task's reply leaves
// without waking the writer. Otherwise, and for plain records, whose
// emitters must block only on a full queue and whose bursts the writer
// coalesces, it queues it (push) behind whatever was sent before it, so one
// goroutine's records stay in order and a reply never overtakes its task's
// progress.
func (q *queue) send(it item) error {
	if !it.task {
		return q.push(it) // one lock, not a look at the queue first
	}
	q.mu.Lock()
	if q.out == nil || q.writing || q.head < len(q.items) || q.refusedLocked(&it) {
		q.mu.Unlock()
		return q.push(it)
	}
	q.writing = true
	q.pushed++
	q.mu.Unlock()
	q.one[0] = it.rec
	n := 1
	if q.out(q.one[:]) != nil {
		n = 0 // accepted, then lost with the connection, like a queued record
	}
	q.one[0] = protocol.EncodedRecord{}
	q.wrote(n)
	return nil
}

// push queues it, blocking while the queue is full: backpressure on the
// plugin's own producer. It returns ErrShutdown once the queue refuses it.
func (q *queue) push(it item) error {
	q.mu.Lock()
	for !q.refusedLocked(&it) && q.fullLocked(&it) {
		q.notFull.Wait()
	}
	if q.refusedLocked(&it) {
		q.mu.Unlock()
		return ErrShutdown
	}
	wake := q.idleLocked()
	q.appendLocked(it)
	q.mu.Unlock()
	if wake {
		q.wake()
	}
	return nil
}

// idleLocked reports whether a record queued now needs to wake the writer:
// not when records are waiting already (whoever queued the first woke it)
// nor while a frame is being written (wrote wakes it for what came
// meanwhile). A flood then costs a wake per frame, not per record.
func (q *queue) idleLocked() bool { return !q.writing && q.head == len(q.items) }

// pushNow queues it without waiting: for replies the SDK sends from the
// read loop, which must never block. It may exceed the bounds by a fixed
// reserve; beyond that it fails with errQueueFull.
func (q *queue) pushNow(it item) error {
	q.mu.Lock()
	switch {
	case q.refusedLocked(&it):
		q.mu.Unlock()
		return ErrShutdown
	case len(q.items)-q.head >= q.limit+urgentRecords || (q.bytes > 0 && q.bytes+it.size() > q.byteLimit+urgentBytes):
		q.mu.Unlock()
		return errQueueFull
	}
	q.appendLocked(it)
	q.mu.Unlock()
	q.wake()
	return nil
}

func (q *queue) appendLocked(it item) {
	q.items = append(q.items, it)
	q.bytes += it.size()
	q.pushed++
}

func (q *queue) wake() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// next appends the next frame's worth of records to dst, waiting for some. It
// returns dst unchanged once the queue is closed and drained.
// It waits for a direct write in progress: the frames leave one at a time,
// in the order their records were accepted.
func (q *queue) next(dst []protocol.EncodedRecord) []protocol.EncodedRecord {
	for {
		q.mu.Lock()
		if !q.writing && q.head < len(q.items) {
			dst = q.takeLocked(dst)
			q.writing = true
			q.mu.Unlock()
			q.notFull.Broadcast()
			return dst
		}
		done := q.closed && !q.writing && q.head == len(q.items)
		q.mu.Unlock()
		if done {
			return dst
		}
		<-q.ready
	}
}

func (q *queue) takeLocked(dst []protocol.EncodedRecord) []protocol.EncodedRecord {
	budget := q.batchBudget()
	for q.head < len(q.items) && len(dst) < maxBatchRecords {
		it := &q.items[q.head]
		if len(dst) > 0 && it.size() > budget {
			break
		}
		budget -= it.size()
		q.bytes -= it.size()
		dst = append(dst, it.rec)
		*it = item{} // let the fields be collected once sent
		q.head++
	}
	q.items, q.head = compact(q.items, q.head)
	return dst
}

// compact keeps a FIFO slice, whose live part is s[head:], from creeping
// forward through ever new arrays: it starts again at the array's start
// once the slice is empty, or moves the live part there once more than half
// the array is behind it.
func compact[T any](s []T, head int) ([]T, int) {
	switch {
	case head == len(s):
		return s[:0], 0
	case head > cap(s)/2:
		n := copy(s, s[head:])
		clear(s[n:])
		return s[:n], 0
	}
	return s, head
}

// wrote ends a frame's write, which carried n records (0: it failed), and
// wakes the writer if records queued up meanwhile or it waits to finish.
func (q *queue) wrote(n int) {
	q.mu.Lock()
	q.writing = false
	if n > 0 {
		q.sent += uint64(n)
		q.batches++
		q.advanceLocked()
	}
	pending := q.head < len(q.items) || q.closed
	q.mu.Unlock()
	if pending {
		q.wake()
	}
}

// encode encodes a record, reading fields once, into the chunk shared with
// the records encoded before it: one allocation serves many records, and a
// chunk is let go once the records in it are sent. There is one chunk at a
// time, filled in order, so the records waiting in the queue, which are a
// run of the latest ones, keep alive at most their own bytes and two
// chunks' slack: the byte limit bounds memory, not only what is counted.
func (q *queue) encode(timestamp int64, token string, fields map[string]string, status protocol.Status) (protocol.EncodedRecord, error) {
	q.chunkMu.Lock()
	defer q.chunkMu.Unlock()
	if cap(q.chunk)-len(q.chunk) < chunkReserve {
		q.chunk = make([]byte, 0, chunkSize)
	}
	rec, grown, err := protocol.EncodeRecord(q.chunk, timestamp, token, fields, status)
	if cap(grown) <= chunkSize {
		q.chunk = grown
	} // else the record outgrew the chunk and has an array of its own
	return rec, err
}

// A chunk holds chunkSize bytes of encoded records; one with less than
// chunkReserve left is not used for another.
const (
	chunkSize    = 16 << 10
	chunkReserve = 512
)

func (q *queue) advanceLocked() {
	close(q.progress)
	q.progress = make(chan struct{})
}

// refusePlain refuses further records without a token; task replies are
// still queued until close.
func (q *queue) refusePlain() {
	q.mu.Lock()
	q.plainOff = true
	q.mu.Unlock()
	q.notFull.Broadcast()
}

// close refuses further pushes; what is queued is still handed out.
func (q *queue) close() {
	q.mu.Lock()
	q.plainOff, q.closed = true, true
	q.mu.Unlock()
	q.notFull.Broadcast()
	q.wake()
}

// fail discards what is queued: the writer cannot send it.
func (q *queue) fail(err error) {
	q.mu.Lock()
	q.plainOff, q.closed = true, true
	if q.dead == nil {
		q.dead = err
		q.advanceLocked()
	}
	clear(q.items)
	q.items, q.head, q.bytes = q.items[:0], 0, 0
	q.mu.Unlock()
	q.notFull.Broadcast()
	q.wake()
}

// flush waits until every record pushed before the call has been sent.
func (q *queue) flush(ctx context.Context) error {
	q.mu.Lock()
	target := q.pushed
	for q.sent < target {
		if q.dead != nil {
			err := q.dead
			q.mu.Unlock()
			return err
		}
		ch := q.progress
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		q.mu.Lock()
	}
	q.mu.Unlock()
	return nil
}

func (q *queue) stats() (pushed, sent, batches uint64, queued int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pushed, q.sent, q.batches, len(q.items) - q.head
}
