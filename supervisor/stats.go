package supervisor

import (
	"math"
	"slices"
	"sync"
	"time"
)

// rttWindow bounds the round trips kept for percentiles.
const rttWindow = 1024

// rttRing keeps the most recent task round trips of an instance.
type rttRing struct {
	mu   sync.Mutex
	vals []time.Duration
	next int
}

func (r *rttRing) add(d time.Duration) {
	r.mu.Lock()
	if len(r.vals) < rttWindow {
		r.vals = append(r.vals, d)
	} else {
		r.vals[r.next] = d
		r.next = (r.next + 1) % rttWindow
	}
	r.mu.Unlock()
}

// percentiles returns p50 and p99 of the window (zero when empty).
func (r *rttRing) percentiles() (p50, p99 time.Duration) {
	r.mu.Lock()
	s := slices.Clone(r.vals)
	r.mu.Unlock()
	if len(s) == 0 {
		return 0, 0
	}
	slices.Sort(s)
	return s[rank(len(s), 50)], s[rank(len(s), 99)]
}

// rank is the index of the p-th percentile of n sorted values by the
// nearest-rank method, so p99 of two values is the larger one, not the
// smaller.
func rank(n int, p float64) int {
	i := int(math.Ceil(p/100*float64(n))) - 1
	return min(max(i, 0), n-1)
}

// Percentile returns the p-th percentile (0–100) of ds, sorting a copy.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[rank(len(s), p)]
}
