// Package ring is the one bounded FIFO that keeps the newest items: the
// console's logs, records and round trips, and the engine's captured lines
// and round-trip window. It is not safe for concurrent use; a caller shared
// between goroutines holds its own lock around it.
package ring

// Ring is a bounded FIFO: pushing onto a full ring drops the oldest item.
// Total counts every push, so a view can tell whether anything arrived since
// it last looked without comparing contents.
type Ring[T any] struct {
	buf   []T // grows by append up to limit, so idle plugins cost little
	limit int
	start int // index of the oldest item once the ring is full
	total uint64
}

// New makes a ring holding at most limit items (at least one).
func New[T any](limit int) *Ring[T] { return &Ring[T]{limit: max(limit, 1)} }

// Push adds v, dropping the oldest item when the ring is full.
func (r *Ring[T]) Push(v T) {
	r.total++
	if len(r.buf) < r.limit {
		r.buf = append(r.buf, v)
		return
	}
	r.buf[r.start] = v
	// A compare instead of a modulo: Push runs once per captured line.
	if r.start++; r.start == r.limit {
		r.start = 0
	}
}

// Limit is the most items the ring holds.
func (r *Ring[T]) Limit() int { return r.limit }

// Len is how many items the ring holds.
func (r *Ring[T]) Len() int { return len(r.buf) }

// Total is how many items were ever pushed.
func (r *Ring[T]) Total() uint64 { return r.total }

// At returns the i-th item, oldest first.
func (r *Ring[T]) At(i int) T { return r.buf[r.index(i)] }

// Ptr returns the i-th item, oldest first, for updating it in place.
func (r *Ring[T]) Ptr(i int) *T { return &r.buf[r.index(i)] }

func (r *Ring[T]) index(i int) int {
	if i += r.start; i >= len(r.buf) {
		i -= len(r.buf)
	}
	return i
}

// Last returns a copy of the newest n items (all of them when n is larger),
// oldest first, so a caller can let go of its lock before using them.
func (r *Ring[T]) Last(n int) []T {
	n = min(max(n, 0), len(r.buf))
	out := make([]T, 0, n)
	// The items sit in at most two runs of buf: append them whole.
	first := r.index(len(r.buf) - n)
	if end := first + n; end <= len(r.buf) {
		return append(out, r.buf[first:end]...)
	}
	out = append(out, r.buf[first:]...)
	return append(out, r.buf[:n-len(out)]...)
}

// Reset empties the ring; Total keeps counting.
func (r *Ring[T]) Reset() {
	clear(r.buf)
	r.buf, r.start = r.buf[:0], 0
}
