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

// sized is an item that says how many bytes it is charged.
type sized struct {
	seq  int
	size int64
}

func sizeOf(s sized) int64 { return s.size }

// TestRingEvictsByBytes pushes items of varied sizes into a ring whose
// budget binds long before its count does, against a plain slice that
// keeps the newest items fitting the budget: the ring holds what the model
// holds, never more bytes than the budget, and counts what it evicted.
func TestRingEvictsByBytes(t *testing.T) {
	const limit, budget = 50, 1000
	var evicted []int
	r := New(limit, WithBudget(budget, sizeOf), WithEvict(func(s sized) { evicted = append(evicted, s.seq) }))
	var want []sized
	var wantEvicted []int
	for i := range 400 {
		v := sized{seq: i, size: int64(1 + (i*37)%300)}
		r.Push(v)
		want = append(want, v)
		for len(want) > limit || sum(want) > budget {
			wantEvicted = append(wantEvicted, want[0].seq)
			want = want[1:]
		}
		if r.Len() != len(want) || r.Bytes() != sum(want) || r.Bytes() > budget {
			t.Fatalf("after %d pushes: len %d bytes %d; want len %d bytes %d (budget %d)", i+1, r.Len(), r.Bytes(), len(want), sum(want), budget)
		}
		if got := r.Last(len(want) + 1); !slices.Equal(got, want) {
			t.Fatalf("after %d pushes: Last = %v, want %v", i+1, got, want)
		}
		for j, w := range want {
			if r.At(j) != w {
				t.Fatalf("after %d pushes: At(%d) = %v, want %v", i+1, j, r.At(j), w)
			}
		}
	}
	if r.Total() != 400 || r.Evicted() != uint64(400-r.Len()) || !slices.Equal(evicted, wantEvicted) {
		t.Fatalf("total %d evicted %d (len %d); evict calls %d, want %d", r.Total(), r.Evicted(), r.Len(), len(evicted), len(wantEvicted))
	}
}

func sum(items []sized) int64 {
	var n int64
	for _, s := range items {
		n += s.size
	}
	return n
}

// TestRingEvictsByCountWithinBudget: small items under a roomy budget are
// bounded by the count, as a ring without a budget is.
func TestRingEvictsByCountWithinBudget(t *testing.T) {
	r := New(3, WithBudget(1<<20, sizeOf))
	for i := range 10 {
		r.Push(sized{seq: i, size: 10})
	}
	if r.Len() != 3 || r.Bytes() != 30 || r.At(0).seq != 7 || r.At(2).seq != 9 || r.Evicted() != 7 {
		t.Fatalf("len %d bytes %d oldest %d newest %d evicted %d", r.Len(), r.Bytes(), r.At(0).seq, r.At(2).seq, r.Evicted())
	}
}

// An item larger than the whole budget is kept alone: the newest item is
// never the one dropped.
func TestRingKeepsOversizedNewest(t *testing.T) {
	r := New(10, WithBudget(100, sizeOf))
	r.Push(sized{seq: 1, size: 40})
	r.Push(sized{seq: 2, size: 500})
	if r.Len() != 1 || r.At(0).seq != 2 || r.Bytes() != 500 {
		t.Fatalf("len %d bytes %d", r.Len(), r.Bytes())
	}
	r.Push(sized{seq: 3, size: 10})
	if r.Len() != 1 || r.At(0).seq != 3 || r.Bytes() != 10 {
		t.Fatalf("after a small push: len %d bytes %d", r.Len(), r.Bytes())
	}
}

// TestRingRechargeAndTrim: an item grown in place is charged its new size
// and pushes older items out; Trim sheds the oldest down to a byte figure.
func TestRingRechargeAndTrim(t *testing.T) {
	r := New(10, WithBudget(100, sizeOf))
	for i := range 5 {
		r.Push(sized{seq: i, size: 10})
	}
	r.Ptr(4).size = 75
	r.Recharge(4)
	if r.Len() != 3 || r.Bytes() != 95 || r.At(0).seq != 2 {
		t.Fatalf("after recharge: len %d bytes %d oldest %d", r.Len(), r.Bytes(), r.At(0).seq)
	}
	r.Trim(80)
	if r.Len() != 1 || r.Bytes() != 75 || r.At(0).seq != 4 {
		t.Fatalf("after trim: len %d bytes %d", r.Len(), r.Bytes())
	}
	r.Trim(0)
	if r.Len() != 0 || r.Bytes() != 0 || r.Evicted() != 5 {
		t.Fatalf("after trim to 0: len %d bytes %d evicted %d", r.Len(), r.Bytes(), r.Evicted())
	}
	// Emptied while wrapped, it fills again up to its count.
	for i := range 12 {
		r.Push(sized{seq: 10 + i, size: 1})
	}
	if r.Len() != 10 || r.At(0).seq != 12 || r.At(9).seq != 21 || r.Bytes() != 10 {
		t.Fatalf("refilled: len %d oldest %d newest %d bytes %d", r.Len(), r.At(0).seq, r.At(9).seq, r.Bytes())
	}
}

func TestRingResetClearsBytes(t *testing.T) {
	r := New(10, WithBudget(100, sizeOf))
	r.Push(sized{seq: 1, size: 60})
	r.Reset()
	r.Push(sized{seq: 2, size: 60})
	if r.Len() != 1 || r.Bytes() != 60 || r.Evicted() != 0 {
		t.Fatalf("len %d bytes %d evicted %d", r.Len(), r.Bytes(), r.Evicted())
	}
}

func TestRingAtPastLenPanics(t *testing.T) {
	r := New(4, WithBudget(10, sizeOf))
	r.Push(sized{seq: 1, size: 6})
	r.Push(sized{seq: 2, size: 6}) // evicts 1: buf keeps a slot past Len
	defer func() {
		if recover() == nil {
			t.Fatal("At(Len) did not panic")
		}
	}()
	r.At(1)
}

func BenchmarkRingPushBudget(b *testing.B) {
	r := New(1000, WithBudget(64<<10, sizeOf))
	for i := 0; b.Loop(); i++ {
		r.Push(sized{seq: i, size: int64(64 + i%256)})
	}
}

// PushCharged charges what it is told, and evicts by it as Push does.
func TestRingPushCharged(t *testing.T) {
	r := New(10, WithBudget(100, sizeOf))
	r.PushCharged(sized{seq: 1, size: 1}, 60)
	r.PushCharged(sized{seq: 2, size: 1}, 60)
	if r.Len() != 1 || r.Bytes() != 60 || r.At(0).seq != 2 || r.Total() != 2 {
		t.Fatalf("len %d bytes %d total %d", r.Len(), r.Bytes(), r.Total())
	}
	plain := New[int](2)
	plain.PushCharged(1, 1<<40)
	plain.PushCharged(2, 1<<40)
	plain.PushCharged(3, 1<<40)
	if plain.Len() != 2 || plain.At(0) != 2 || plain.Bytes() != 0 || plain.Total() != 3 {
		t.Fatalf("without a budget: len %d at0 %d bytes %d total %d", plain.Len(), plain.At(0), plain.Bytes(), plain.Total())
	}
}
