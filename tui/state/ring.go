package state

// Ring is a bounded FIFO: pushing onto a full ring drops the oldest item.
// Total counts every push, so a view can tell whether anything arrived since
// it last looked without comparing contents.
type Ring[T any] struct {
	buf   []T // grows by append up to limit, so idle plugins cost little
	limit int
	start int // index of the oldest item once the ring is full
	total uint64
}

// NewRing makes a ring holding at most limit items.
func NewRing[T any](limit int) *Ring[T] { return &Ring[T]{limit: max(limit, 1)} }

// Push adds v, dropping the oldest item when the ring is full.
func (r *Ring[T]) Push(v T) {
	r.total++
	if len(r.buf) < r.limit {
		r.buf = append(r.buf, v)
		return
	}
	r.buf[r.start] = v
	r.start = (r.start + 1) % r.limit
}

// Limit is the most items the ring holds.
func (r *Ring[T]) Limit() int { return r.limit }

// Len is how many items the ring holds.
func (r *Ring[T]) Len() int { return len(r.buf) }

// Total is how many items were ever pushed.
func (r *Ring[T]) Total() uint64 { return r.total }

// At returns the i-th item, oldest first.
func (r *Ring[T]) At(i int) T { return r.buf[(r.start+i)%len(r.buf)] }

// Ptr returns the i-th item, oldest first, for updating it in place.
func (r *Ring[T]) Ptr(i int) *T { return &r.buf[(r.start+i)%len(r.buf)] }

// Reset empties the ring; Total keeps counting.
func (r *Ring[T]) Reset() {
	clear(r.buf)
	r.buf, r.start = r.buf[:0], 0
}
