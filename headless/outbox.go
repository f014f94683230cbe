package headless

import (
	"io"
	"sync"
)

// chunk is JSON lines on their way to the output, and how many records
// they hold, so that losing the chunk can be counted in records too.
type chunk struct {
	b       []byte
	records int
}

// loss is what never reached the output.
type loss struct {
	records, bytes uint64
}

func (l *loss) add(c chunk) {
	l.records += uint64(c.records)
	l.bytes += uint64(len(c.b))
}

func (l loss) plus(m loss) loss { return loss{l.records + m.records, l.bytes + m.bytes} }

// losses are counted by cause: an output that is slow is worth a warning
// each second, one that failed was reported once, and what is left at
// exit is reported at exit.
type losses struct {
	overBudget loss // the queue was full
	failed     loss // the output had failed
	abandoned  loss // still queued, or being written, when Run gave up on the output
}

func (l losses) total() loss { return l.overBudget.plus(l.failed).plus(l.abandoned) }

// outbox is the queue between the encoder and the writer, bounded in
// bytes: the encoder hands it chunks and never waits, the writer takes
// them and may wait on its output for ever. A chunk that does not fit is
// dropped and counted, so a stalled output costs records, never memory
// and never the engine's pace.
type outbox struct {
	budget int64
	wake   chan struct{} // the writer has something to do

	mu       sync.Mutex
	queue    []chunk
	inflight chunk // taken by the writer, not yet written
	bytes    int64 // queued and in flight
	closed   bool  // no more chunks will come
	failed   bool  // the output failed, or was given up on: nothing more is queued
	lost     losses
	free     [][]byte // written chunks' buffers, for the encoder to reuse
}

func newOutbox(budget int64) *outbox {
	return &outbox{budget: budget, wake: make(chan struct{}, 1)}
}

// put queues c, or drops and counts it when the queue is over budget or
// the output is gone. It reports whether c was queued; a dropped chunk's
// buffer is the caller's again.
func (o *outbox) put(c chunk) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.failed:
		o.lost.failed.add(c)
		return false
	case o.bytes > 0 && o.bytes+int64(len(c.b)) > o.budget:
		// An empty outbox takes a chunk of any size: with a budget near
		// one chunk, nothing would ever be written otherwise.
		o.lost.overBudget.add(c)
		return false
	}
	o.queue = append(o.queue, c)
	o.bytes += int64(len(c.b))
	o.signal()
	return true
}

// signal wakes the writer without waiting: one pending wake is enough, since
// the writer looks at the whole state when it wakes.
func (o *outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// buffer is an empty buffer for the next chunk, reused when one is free.
func (o *outbox) buffer() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	if n := len(o.free); n > 0 {
		b := o.free[n-1]
		o.free = o.free[:n-1]
		return b[:0]
	}
	return make([]byte, 0, chunkSize+chunkSize/4)
}

// next waits for a chunk to write; false once the outbox is closed and
// empty, or the output failed.
func (o *outbox) next() (chunk, bool) {
	for {
		o.mu.Lock()
		if o.failed || (o.closed && len(o.queue) == 0) {
			o.mu.Unlock()
			return chunk{}, false
		}
		if len(o.queue) > 0 {
			c := o.queue[0]
			o.queue[0] = chunk{}
			o.queue = o.queue[1:]
			o.inflight = c
			o.mu.Unlock()
			return c, true
		}
		o.mu.Unlock()
		<-o.wake
	}
}

// written releases the chunk in flight: its bytes leave the budget only
// now, so a writer blocked in write holds its chunk against the budget.
func (o *outbox) written() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.bytes -= int64(len(o.inflight.b))
	if len(o.free) < maxFree && cap(o.inflight.b) <= 2*chunkSize {
		o.free = append(o.free, o.inflight.b)
	}
	o.inflight = chunk{}
}

// fail drops what is queued and everything put from now on, counting it;
// the chunk in flight is counted too, since its write failed. It reports
// whether the failure is news: an output given up on at exit was said.
func (o *outbox) fail() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failed {
		return false // abandoned: what was in flight is counted already
	}
	o.failed = true
	o.lost.failed.add(o.inflight)
	for _, c := range o.queue {
		o.lost.failed.add(c)
	}
	o.inflight, o.queue, o.bytes = chunk{}, nil, 0
	return true
}

// abandon gives up on the output at exit: what is queued or in flight is
// counted as lost, and a writer still blocked in write is left to it.
func (o *outbox) abandon() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failed {
		return
	}
	o.failed = true
	o.lost.abandoned.add(o.inflight)
	for _, c := range o.queue {
		o.lost.abandoned.add(c)
	}
	o.queue = nil
	o.signal()
}

// close says no more chunks will come; the writer ends once it has written
// what is queued.
func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.signal()
}

// losses is what was lost so far.
func (o *outbox) losses() losses {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lost
}

// countDropped counts records the encoder dropped before they became a
// chunk (at exit, when there is no time left to encode them).
func (o *outbox) countDropped(records int) {
	o.mu.Lock()
	o.lost.abandoned.records += uint64(records)
	o.mu.Unlock()
}

const (
	chunkSize = 64 << 10 // a chunk is handed over once it holds this much
	maxFree   = 4        // buffers kept for reuse
)

// writeAll writes chunks to w until the outbox is done. A failed write
// fails the outbox, and onFail says why, once.
func (o *outbox) writeAll(w io.Writer, onFail func(error)) {
	for {
		c, ok := o.next()
		if !ok {
			return
		}
		if _, err := w.Write(c.b); err != nil {
			if o.fail() {
				onFail(err)
			}
			return
		}
		o.written()
	}
}
