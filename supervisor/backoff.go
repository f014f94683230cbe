package supervisor

import (
	"math/rand/v2"
	"time"
)

// backoff is the delay before restart number failures+1: base doubling up to
// max, with ±20% jitter so plugins that crashed together do not restart in
// lockstep.
func backoff(failures int, base, max time.Duration) time.Duration {
	d := max
	if failures < 30 {
		if b := base << failures; b > 0 && b < max {
			d = b
		}
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// pruneBefore drops times earlier than cutoff from a sorted slice.
func pruneBefore(ts []time.Time, cutoff time.Time) []time.Time {
	i := 0
	for i < len(ts) && ts[i].Before(cutoff) {
		i++
	}
	return ts[i:]
}
