package supervisor

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/plugvisor/plugvisor/internal/ring"
)

// rttWindow bounds the round trips kept for percentiles.
const rttWindow = 1024

// rttRing keeps the most recent task round trips of an instance. Its zero
// value is ready: an instance that never runs a task allocates nothing.
type rttRing struct {
	mu   sync.Mutex
	vals *ring.Ring[time.Duration]
}

func (r *rttRing) add(d time.Duration) {
	r.mu.Lock()
	if r.vals == nil {
		r.vals = ring.New[time.Duration](rttWindow)
	}
	r.vals.Push(d)
	r.mu.Unlock()
}

// percentiles returns p50 and p99 of the window (zero when empty).
func (r *rttRing) percentiles() (p50, p99 time.Duration) {
	r.mu.Lock()
	var s []time.Duration
	if r.vals != nil {
		s = r.vals.Last(rttWindow)
	}
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
