// Package percentile is the one percentile of round trips that the engine's
// stats, scripts and benchmarks report, so a p99 means the same everywhere.
package percentile

import (
	"math"
	"slices"
	"time"
)

// Of returns the p-th percentile (0–100) of ds, sorting a copy; zero when
// ds is empty.
func Of(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return Sorted(s, p)
}

// Sorted is Of for values already sorted, for taking several percentiles
// of one sort.
func Sorted(s []time.Duration, p float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	return s[rank(len(s), p)]
}

// rank is the index of the p-th percentile of n sorted values by the
// nearest-rank method, so p99 of two values is the larger one, not the
// smaller.
func rank(n int, p float64) int {
	i := int(math.Ceil(p/100*float64(n))) - 1
	return min(max(i, 0), n-1)
}
