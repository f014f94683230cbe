// Package ring is the one bounded FIFO that keeps the newest items: the
// console's logs, records and round trips, and the engine's captured lines
// and round-trip window. It is not safe for concurrent use; a caller shared
// between goroutines holds its own lock around it.
package ring

// Ring is a bounded FIFO: pushing onto a full ring drops the oldest item.
// Total counts every push, so a view can tell whether anything arrived since
// it last looked without comparing contents.
//
// A count alone does not bound memory when one item can be a byte or four
// megabytes, so a ring made WithBudget also drops its oldest items to keep
// the bytes its items are charged within a budget.
type Ring[T any] struct {
	buf   []T // grows by append up to limit, so idle plugins cost little
	limit int
	start int // index of the oldest item
	n     int // items held; below len(buf) only after evictions by bytes or Trim
	total uint64

	size    func(T) int64 // nil: bounded by count alone
	budget  int64
	sizes   []int64 // what each held item was charged, beside buf: an item changed in place is refunded what it cost
	bytes   int64
	cleared uint64 // items Reset let go: not evicted, for Evicted
	onEvict func(T)
}

// Option configures a ring made by New.
type Option[T any] func(*Ring[T])

// WithBudget bounds the ring by bytes as well as by count: size estimates
// what an item holds, and the oldest items are dropped while the total
// would pass budget. The newest item is always kept, so a ring whose one
// item is larger than the budget holds that item alone.
func WithBudget[T any](budget int64, size func(T) int64) Option[T] {
	return func(r *Ring[T]) { r.budget, r.size = max(budget, 0), size }
}

// WithEvict calls fn with each item the ring drops to make room (not with
// those Reset clears), so a caller's index of the items can follow.
func WithEvict[T any](fn func(T)) Option[T] {
	return func(r *Ring[T]) { r.onEvict = fn }
}

// New makes a ring holding at most limit items (at least one).
func New[T any](limit int, opts ...Option[T]) *Ring[T] {
	r := &Ring[T]{limit: max(limit, 1)}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Push adds v, dropping the oldest items while the ring is full or, with a
// budget, while v would not fit in it.
func (r *Ring[T]) Push(v T) {
	r.total++
	if r.n == r.limit && r.size == nil && r.onEvict == nil {
		// The common case, once per captured line: the new item takes the
		// oldest one's slot.
		r.buf[r.start] = v
		if r.start++; r.start == r.limit { // a compare instead of a modulo
			r.start = 0
		}
		return
	}
	if r.size != nil {
		r.pushCharged(v, r.size(v))
		return
	}
	if r.n == r.limit {
		r.evict()
	}
	r.put(v, 0)
}

// PushCharged is Push charging v size bytes instead of asking the size
// function, for a caller that measured v already: the console's feed sizes
// every record to bound its queue, and walking each record's fields twice
// cost a core at a million records a second. Without a budget it is Push.
func (r *Ring[T]) PushCharged(v T, size int64) {
	if r.size == nil {
		r.Push(v)
		return
	}
	r.total++
	r.pushCharged(v, size)
}

func (r *Ring[T]) pushCharged(v T, sz int64) {
	for r.n > 0 && (r.n == r.limit || r.bytes+sz > r.budget) {
		r.evict()
	}
	r.put(v, sz)
}

// put stores v after the newest item; there is room for one more.
func (r *Ring[T]) put(v T, sz int64) {
	r.bytes += sz
	if r.n < len(r.buf) {
		i := r.index(r.n)
		r.buf[i] = v
		if r.size != nil {
			r.sizes[i] = sz
		}
		r.n++
		return
	}
	// buf is all in use and shorter than limit: it grows by append, which
	// needs the oldest item first.
	r.unwrap()
	r.buf = append(r.buf, v)
	if r.size != nil {
		r.sizes = append(r.sizes, sz)
	}
	r.n++
}

// unwrap moves the oldest item to index 0. Only a ring that evicted by
// bytes before it ever filled can be wrapped while still growing, so this
// copy is rare.
func (r *Ring[T]) unwrap() {
	if r.start == 0 {
		return
	}
	r.buf = append(append(make([]T, 0, min(2*len(r.buf), r.limit)), r.buf[r.start:]...), r.buf[:r.start]...)
	if r.size != nil {
		r.sizes = append(append(make([]int64, 0, cap(r.buf)), r.sizes[r.start:]...), r.sizes[:r.start]...)
	}
	r.start = 0
}

// evict drops the oldest item.
func (r *Ring[T]) evict() {
	old := r.buf[r.start]
	var zero T
	r.buf[r.start] = zero // let what it refers to be collected
	if r.size != nil {
		r.bytes -= r.sizes[r.start]
	}
	if r.start++; r.start == len(r.buf) {
		r.start = 0
	}
	r.n--
	if r.onEvict != nil {
		r.onEvict(old)
	}
}

// Trim drops the oldest items until the ring holds at most maxBytes, for a
// caller sharing one budget among several rings. It may empty the ring.
func (r *Ring[T]) Trim(maxBytes int64) {
	for r.n > 0 && r.bytes > maxBytes {
		r.evict()
	}
}

// Recharge charges the i-th item (oldest first) anew after it was changed
// in place, dropping older items if it no longer fits the budget.
func (r *Ring[T]) Recharge(i int) {
	if r.size == nil {
		return
	}
	j := r.checked(i)
	sz := r.size(r.buf[j])
	r.bytes += sz - r.sizes[j]
	r.sizes[j] = sz
	for r.n > 1 && r.bytes > r.budget {
		r.evict()
	}
}

// Limit is the most items the ring holds.
func (r *Ring[T]) Limit() int { return r.limit }

// Budget is the most bytes the ring holds; 0 when it is bounded by count alone.
func (r *Ring[T]) Budget() int64 { return r.budget }

// Bytes is what the items held are charged; 0 without a budget.
func (r *Ring[T]) Bytes() int64 { return r.bytes }

// Len is how many items the ring holds.
func (r *Ring[T]) Len() int { return r.n }

// Total is how many items were ever pushed.
func (r *Ring[T]) Total() uint64 { return r.total }

// Evicted is how many items were dropped to make room, by count or by bytes.
func (r *Ring[T]) Evicted() uint64 { return r.total - uint64(r.n) - r.cleared }

// At returns the i-th item, oldest first.
func (r *Ring[T]) At(i int) T { return r.buf[r.checked(i)] }

// Ptr returns the i-th item, oldest first, for updating it in place. A
// ring with a budget is told of a change in size with Recharge.
func (r *Ring[T]) Ptr(i int) *T { return &r.buf[r.checked(i)] }

// checked is index for a caller's i: past the items held, buf may still
// hold a slot, which must not pass for an item.
func (r *Ring[T]) checked(i int) int {
	if i < 0 || i >= r.n {
		panic("ring: index out of range")
	}
	return r.index(i)
}

func (r *Ring[T]) index(i int) int {
	if i += r.start; i >= len(r.buf) {
		i -= len(r.buf)
	}
	return i
}

// Last returns a copy of the newest n items (all of them when n is larger),
// oldest first, so a caller can let go of its lock before using them.
func (r *Ring[T]) Last(n int) []T {
	n = min(max(n, 0), r.n)
	out := make([]T, 0, n)
	// The items sit in at most two runs of buf: append them whole.
	first := r.index(r.n - n)
	if end := first + n; end <= len(r.buf) {
		return append(out, r.buf[first:end]...)
	}
	out = append(out, r.buf[first:]...)
	return append(out, r.buf[:n-len(out)]...)
}

// Reset empties the ring; Total keeps counting.
func (r *Ring[T]) Reset() {
	r.cleared += uint64(r.n)
	clear(r.buf)
	r.buf, r.start, r.n, r.bytes = r.buf[:0], 0, 0, 0
	r.sizes = r.sizes[:0]
}
