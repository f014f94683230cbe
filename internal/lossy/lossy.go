// Package lossy is the queue between a publisher that must never wait and a
// consumer that may fall behind: the engine's event bus and the control
// client's subscriptions. What does not fit is dropped and counted, and the
// consumer learns how much it lost in band, from a notice that arrives
// before anything sent after the loss, so it can tell a quiet stream from a
// gap in it.
package lossy

import (
	"sync"
	"sync/atomic"
)

// Queue is a bounded channel with loss accounting. Send and Lost may be
// called from any number of goroutines.
type Queue[T any] struct {
	// mu serialises sends: without it a notice and the value after it
	// could be reordered by two publishers, and the consumer would see
	// values past a gap before hearing of the gap.
	mu     sync.Mutex
	ch     chan T
	lost   uint64 // dropped since the last notice was delivered
	closed bool

	total  *atomic.Uint64 // the owner's count of every loss of all its queues
	notice func(lost uint64, next T) T

	// A byte budget, when set: what is in ch may hold at most budget bytes
	// by size's estimate. The consumer never reports what it took; the
	// channel's length says it, because ch is first in, first out: the
	// sizes of what it holds are the newest len(ch) of sizes.
	budget int64
	size   func(T) int64
	sizes  []int64 // a ring of the sizes of what was put in ch, oldest at head
	head   int
	count  int   // sizes in the ring: what ch held when last settled, and one more put since
	held   int64 // the sum of the count sizes
	bytes  atomic.Uint64
}

// New makes a queue buffering up to buffer values (at least one). notice
// builds the value telling of lost values, from the value about to be sent
// (for its time, say); every local loss is also added to total, which
// outlives the queue.
func New[T any](buffer int, total *atomic.Uint64, notice func(lost uint64, next T) T) *Queue[T] {
	return &Queue[T]{ch: make(chan T, max(buffer, 1)), total: total, notice: notice}
}

// WithBudget bounds q in bytes as well: a value whose size would take what q
// holds past budget is dropped like one that finds q full. Call it before
// the first Send.
func (q *Queue[T]) WithBudget(budget int64, size func(T) int64) *Queue[T] {
	q.budget, q.size = budget, size
	// One more than ch holds: between a settle that saw ch full and the
	// put after it, the consumer may take one, and the put succeed.
	q.sizes = make([]int64, cap(q.ch)+1)
	return q
}

// LostBytes is the estimated size of every value q dropped.
func (q *Queue[T]) LostBytes() uint64 { return q.bytes.Load() }

// settleLocked forgets the sizes of what the consumer has taken.
func (q *Queue[T]) settleLocked() {
	for taken := q.count - len(q.ch); taken > 0; taken-- {
		q.held -= q.sizes[q.head]
		q.head = (q.head + 1) % len(q.sizes)
		q.count--
	}
}

// putLocked puts v, of n bytes, in ch if there is room by count.
func (q *Queue[T]) putLocked(v T, n int64) bool {
	select {
	case q.ch <- v:
	default:
		return false
	}
	if q.size != nil {
		q.push(n)
	}
	return true
}

// push records the size of what was just put in ch.
func (q *Queue[T]) push(n int64) {
	q.sizes[(q.head+q.count)%len(q.sizes)] = n
	q.count++
	q.held += n
}

// C is the consumer's end; it is closed by Close.
func (q *Queue[T]) C() <-chan T { return q.ch }

// Send delivers v if there is room and drops it otherwise, never waiting.
// After a loss, v goes only behind a notice of it: if the notice does not
// fit, v is lost too and the next Send tries again.
func (q *Queue[T]) Send(v T) {
	var n int64
	if q.size != nil {
		n = q.size(v)
	}
	q.mu.Lock()
	switch {
	case q.closed:
	case !q.fitsLocked(n):
		q.loseLocked(n) // before any notice: a notice per value that does not fit would fill q
	case q.lost > 0 && !q.flushLocked(v):
		q.loseLocked(n)
	case !q.putLocked(v, n):
		q.loseLocked(n)
	}
	q.mu.Unlock()
}

// fitsLocked reports whether n more bytes stay within the budget. An empty
// queue takes a value of any size, so that no value is undeliverable.
func (q *Queue[T]) fitsLocked(n int64) bool {
	if q.size == nil {
		return true
	}
	q.settleLocked()
	return q.held == 0 || q.held+n <= q.budget
}

// Lost adds n values lost before reaching this queue (upstream, by another
// lossy hop) and passes the news on at once if there is room, in the same
// notice as this queue's own losses. They are not added to total: they are
// someone else's.
func (q *Queue[T]) Lost(n uint64, next T) {
	q.mu.Lock()
	if !q.closed {
		q.lost += n
		q.flushLocked(next)
	}
	q.mu.Unlock()
}

// flushLocked delivers the notice of what was lost, if there is room, and
// reports whether there was.
func (q *Queue[T]) flushLocked(next T) bool {
	if len(q.ch) == cap(q.ch) {
		// Only senders holding mu fill ch, so it stays full until the
		// consumer takes something: spare building a notice for nothing,
		// which a subscriber that stopped reading would pay per event.
		return false
	}
	// A notice is small and always let past the byte budget: the consumer
	// must hear of a gap.
	if q.size != nil {
		q.settleLocked()
	}
	select {
	case q.ch <- q.notice(q.lost, next):
	default:
		return false
	}
	if q.size != nil {
		q.push(0)
	}
	q.lost = 0
	return true
}

func (q *Queue[T]) loseLocked(n int64) {
	q.lost++
	q.total.Add(1)
	q.bytes.Add(uint64(n))
}

// Close closes C once; later sends are ignored, so a publisher racing a
// departing consumer needs no lock of its own.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
	q.mu.Unlock()
}
