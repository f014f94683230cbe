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
}

// New makes a queue buffering up to buffer values (at least one). notice
// builds the value telling of lost values, from the value about to be sent
// (for its time, say); every local loss is also added to total, which
// outlives the queue.
func New[T any](buffer int, total *atomic.Uint64, notice func(lost uint64, next T) T) *Queue[T] {
	return &Queue[T]{ch: make(chan T, max(buffer, 1)), total: total, notice: notice}
}

// C is the consumer's end; it is closed by Close.
func (q *Queue[T]) C() <-chan T { return q.ch }

// Send delivers v if there is room and drops it otherwise, never waiting.
// After a loss, v goes only behind a notice of it: if the notice does not
// fit, v is lost too and the next Send tries again.
func (q *Queue[T]) Send(v T) {
	q.mu.Lock()
	switch {
	case q.closed:
	case q.lost > 0 && !q.flushLocked(v):
		q.loseLocked()
	default:
		select {
		case q.ch <- v:
		default:
			q.loseLocked()
		}
	}
	q.mu.Unlock()
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
	select {
	case q.ch <- q.notice(q.lost, next):
		q.lost = 0
		return true
	default:
		return false
	}
}

func (q *Queue[T]) loseLocked() {
	q.lost++
	q.total.Add(1)
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
