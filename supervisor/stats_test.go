package supervisor

import (
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	ms := func(vs ...int) []time.Duration {
		out := make([]time.Duration, len(vs))
		for i, v := range vs {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{ms(1, 100), 99, 100 * time.Millisecond},
		{ms(1, 100), 50, time.Millisecond},
		{ms(5), 99, 5 * time.Millisecond},
		{ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{nil, 99, 0},
	} {
		if got := Percentile(tc.in, tc.p); got != tc.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tc.in, tc.p, got, tc.want)
		}
	}
	var r rttRing
	for i := 1; i <= 100; i++ {
		r.add(time.Duration(i))
	}
	if p50, p99 := r.percentiles(); p50 != 50 || p99 != 99 {
		t.Fatalf("ring p50 %v p99 %v", p50, p99)
	}
}
