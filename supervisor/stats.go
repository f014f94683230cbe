package supervisor

import (
	"slices"
	"sync"
	"time"

	"github.com/plugvisor/plugvisor/internal/percentile"
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
	return percentile.Sorted(s, 50), percentile.Sorted(s, 99)
}
