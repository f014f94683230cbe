package supervisor

import (
	"testing"
	"time"
)

// The engine's window reports the same nearest-rank percentiles as
// everything else (see internal/percentile).
func TestRTTRingPercentiles(t *testing.T) {
	var r rttRing
	for i := 1; i <= 100; i++ {
		r.add(time.Duration(i))
	}
	if p50, p99 := r.percentiles(); p50 != 50 || p99 != 99 {
		t.Fatalf("ring p50 %v p99 %v", p50, p99)
	}
}
