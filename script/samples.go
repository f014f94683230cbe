package script

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/plugvisor/plugvisor/internal/percentile"
)

// maxSamples bounds the round trips a step, and a run, keep for their
// percentiles (8 MB of them): a step of a billion tasks must not need 8 GB.
// Up to the bound every round trip is kept and the percentiles are exact;
// beyond it a uniform sample of them is (reservoir sampling). A variable
// for the tests.
var maxSamples = 1_000_000

// preallocSamples bounds the room reserved up front: a large count grows
// its samples as tasks finish rather than reserving them all at once.
const preallocSamples = 1 << 16

// samples is a bounded, uniform sample of round trips.
type samples struct {
	keep []time.Duration
	seen int64 // round trips offered, kept or not
}

func newSamples(expect int) samples {
	return samples{keep: make([]time.Duration, 0, min(expect, preallocSamples, maxSamples))}
}

// add offers one round trip: kept while there is room, then in place of a
// kept one with probability maxSamples/seen, so every round trip is equally
// likely to be in the sample.
func (s *samples) add(d time.Duration) {
	s.seen++
	if len(s.keep) < maxSamples {
		s.keep = append(s.keep, d)
		return
	}
	if j := rand.Int64N(s.seen); j < int64(len(s.keep)) {
		s.keep[j] = d
	}
}

// merge adds o's round trips. While everything fits, everything is kept;
// beyond, each side contributes to the sample in proportion to the round
// trips it saw, drawn uniformly from what it kept.
func (s *samples) merge(o *samples) {
	total := s.seen + o.seen
	if total <= int64(maxSamples) {
		s.keep = append(s.keep, o.keep...)
		s.seen = total
		return
	}
	fromO := min(int(int64(maxSamples)*o.seen/total), len(o.keep))
	fromS := min(maxSamples-fromO, len(s.keep))
	mine := pick(s.keep, fromS)
	s.keep = append(mine, pick(o.keep, fromO)...)
	s.seen = total
}

// pick returns n of ds chosen uniformly, in a new slice.
func pick(ds []time.Duration, n int) []time.Duration {
	out := slices.Clone(ds)
	for i := range n { // a partial Fisher–Yates shuffle
		j := i + rand.IntN(len(out)-i)
		out[i], out[j] = out[j], out[i]
	}
	return out[:n]
}

func (s *samples) percentile(p float64) time.Duration { return percentile.Of(s.keep, p) }
