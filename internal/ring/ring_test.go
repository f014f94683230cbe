package ring

import (
	"slices"
	"testing"
)

func TestRingBounds(t *testing.T) {
	r := New[int](3)
	for i := 1; i <= 5; i++ {
		r.Push(i)
	}
	if r.Len() != 3 || r.Total() != 5 || r.At(0) != 3 || r.At(2) != 5 {
		t.Fatalf("ring = len %d total %d [%d %d %d]", r.Len(), r.Total(), r.At(0), r.At(1), r.At(2))
	}
	r.Reset()
	r.Push(9)
	if r.Len() != 1 || r.At(0) != 9 || r.Total() != 6 {
		t.Fatalf("after reset: len %d at0 %d total %d", r.Len(), r.At(0), r.Total())
	}
}

// Every position of the oldest item, filling and wrapping, against a plain
// slice that keeps the newest limit items.
func TestRingWrapsLikeASlidingWindow(t *testing.T) {
	const limit = 5
	r := New[int](limit)
	var want []int
	for i := range 3*limit + 2 {
		r.Push(i)
		want = append(want, i)
		if len(want) > limit {
			want = want[1:]
		}
		if r.Len() != len(want) || r.Limit() != limit || r.Total() != uint64(i+1) {
			t.Fatalf("after %d pushes: len %d limit %d total %d", i+1, r.Len(), r.Limit(), r.Total())
		}
		for j, w := range want {
			if r.At(j) != w || *r.Ptr(j) != w {
				t.Fatalf("after %d pushes: At(%d) = %d, want %d", i+1, j, r.At(j), w)
			}
		}
		for n := -1; n <= limit+1; n++ {
			tail := want[len(want)-min(max(n, 0), len(want)):]
			if got := r.Last(n); !slices.Equal(got, tail) {
				t.Fatalf("after %d pushes: Last(%d) = %v, want %v", i+1, n, got, tail)
			}
		}
	}
}

func TestRingPtrUpdatesInPlace(t *testing.T) {
	r := New[int](2)
	r.Push(1)
	r.Push(2)
	r.Push(3)
	*r.Ptr(0) = 20
	if r.At(0) != 20 || r.At(1) != 3 {
		t.Fatalf("after update: [%d %d]", r.At(0), r.At(1))
	}
}

// Last hands out a copy: pushing afterwards must not change it.
func TestRingLastIsACopy(t *testing.T) {
	r := New[int](2)
	r.Push(1)
	r.Push(2)
	got := r.Last(2)
	r.Push(3)
	if !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("Last changed under a later Push: %v", got)
	}
}

func TestRingLimitAtLeastOne(t *testing.T) {
	r := New[string](0)
	r.Push("a")
	r.Push("b")
	if r.Limit() != 1 || r.Len() != 1 || r.At(0) != "b" {
		t.Fatalf("limit %d len %d at0 %q", r.Limit(), r.Len(), r.At(0))
	}
}

func BenchmarkRingPush(b *testing.B) {
	r := New[int](1000)
	for i := 0; b.Loop(); i++ {
		r.Push(i)
	}
}
