package percentile

import (
	"slices"
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
		{ms(4, 1, 3, 2), 0, time.Millisecond},
		{ms(4, 1, 3, 2), 100, 4 * time.Millisecond},
		{nil, 99, 0},
	} {
		if got := Of(tc.in, tc.p); got != tc.want {
			t.Errorf("Of(%v, %v) = %v, want %v", tc.in, tc.p, got, tc.want)
		}
	}
}

func TestPercentileLeavesInputAlone(t *testing.T) {
	in := []time.Duration{3, 1, 2}
	Of(in, 50)
	if !slices.Equal(in, []time.Duration{3, 1, 2}) {
		t.Fatalf("input reordered: %v", in)
	}
	if Sorted(nil, 50) != 0 {
		t.Fatal("Sorted of nothing is not zero")
	}
}
