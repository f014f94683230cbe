package sdk

import (
	"context"
	"sync"

	"github.com/plugvisor/plugvisor/protocol"
)

// Batching limits. A frame carries at most maxBatchRecords records so one
// frame never costs the supervisor's read loop more than a few milliseconds.
const (
	defaultQueueSize = 64 << 10
	maxBatchRecords  = 4096
	// dataOverhead bounds a Data frame's bytes besides its records: map
	// header, "kind": "data", "records" and a 32-bit array header.
	dataOverhead = 1 + 5 + 5 + 8 + 5
)

type item struct {
	rec  protocol.Record
	size int // upper bound of the record's encoded size
}

// queue is the bounded buffer between emitters and the one writer. There is
// no timer: the writer takes whatever is queued when it is free, so a lone
// record leaves at once and a burst leaves in few frames.
type queue struct {
	limit    int
	maxFrame int // payload bytes per frame

	mu      sync.Mutex
	notFull sync.Cond
	items   []item
	head    int
	closed  bool  // no more pushes
	dead    error // the writer failed: nothing more will be sent

	ready chan struct{} // capacity 1: wakes the writer

	pushed, sent, batches uint64
	progress              chan struct{} // closed and replaced whenever sent moves or dead is set
}

func newQueue(limit, maxFrame int) *queue {
	q := &queue{limit: limit, maxFrame: maxFrame, ready: make(chan struct{}, 1), progress: make(chan struct{})}
	q.notFull.L = &q.mu
	return q
}

// maxRecord is the largest record that fits in a frame on its own.
func (q *queue) maxRecord() int { return q.maxFrame - dataOverhead }

// push queues it, blocking while the queue is full: backpressure on the
// plugin's own producer. It returns ErrShutdown once the queue is closed.
func (q *queue) push(it item) error {
	q.mu.Lock()
	for !q.closed && len(q.items)-q.head >= q.limit {
		q.notFull.Wait()
	}
	if q.closed {
		q.mu.Unlock()
		return ErrShutdown
	}
	q.items = append(q.items, it)
	q.pushed++
	q.mu.Unlock()
	q.wake()
	return nil
}

func (q *queue) wake() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// next appends the next frame's worth of records to dst, waiting for some. It
// returns dst unchanged once the queue is closed and drained.
func (q *queue) next(dst []protocol.Record) []protocol.Record {
	for {
		q.mu.Lock()
		if q.head < len(q.items) {
			dst = q.takeLocked(dst)
			q.mu.Unlock()
			q.notFull.Broadcast()
			return dst
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return dst
		}
		<-q.ready
	}
}

func (q *queue) takeLocked(dst []protocol.Record) []protocol.Record {
	budget := q.maxRecord()
	for q.head < len(q.items) && len(dst) < maxBatchRecords {
		it := &q.items[q.head]
		if len(dst) > 0 && it.size > budget {
			break
		}
		budget -= it.size
		dst = append(dst, it.rec)
		*it = item{} // let the fields be collected once sent
		q.head++
	}
	switch {
	case q.head == len(q.items):
		q.items, q.head = q.items[:0], 0
	case q.head > cap(q.items)/2:
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return dst
}

// markSent records that n records left in one frame.
func (q *queue) markSent(n int) {
	q.mu.Lock()
	q.sent += uint64(n)
	q.batches++
	q.advanceLocked()
	q.mu.Unlock()
}

func (q *queue) advanceLocked() {
	close(q.progress)
	q.progress = make(chan struct{})
}

// close refuses further pushes; what is queued is still handed out.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.notFull.Broadcast()
	q.wake()
}

// fail discards what is queued: the writer cannot send it.
func (q *queue) fail(err error) {
	q.mu.Lock()
	q.closed = true
	if q.dead == nil {
		q.dead = err
		q.advanceLocked()
	}
	clear(q.items)
	q.items, q.head = q.items[:0], 0
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

// recordSize bounds the msgpack size of rec as protocol encodes it inside a
// Data frame. Integers are counted at their widest.
func recordSize(rec *protocol.Record) int {
	n := 1 + strSize("timestamp") + 9 + strSize("fields") + 5
	if rec.Token != "" {
		n += strSize("token") + strSize(rec.Token)
	}
	for k, v := range rec.Fields {
		n += strSize(k) + strSize(v)
	}
	return n
}

func strSize(s string) int {
	switch n := len(s); {
	case n < 32:
		return 1 + n
	case n <= 0xff:
		return 2 + n
	case n <= 0xffff:
		return 3 + n
	default:
		return 5 + n
	}
}
