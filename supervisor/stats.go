package supervisor

import (
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
	return s[len(s)*50/100], s[min(len(s)-1, len(s)*99/100)]
}

// Percentile returns the p-th percentile (0–100) of ds, sorting a copy.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}
