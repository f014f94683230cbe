package script

import (
	"math"
	"testing"
	"time"
)

// TestSlotDoesNotOverflow: the due times of a slow rate's tasks grow and
// stay positive however many tasks; a Duration product would overflow and
// turn negative, which disabled the rate limit.
func TestSlotDoesNotOverflow(t *testing.T) {
	if d := slot(1, MinRate); d != 1000*time.Second {
		t.Fatalf("slot(1) at %g/s = %s, want 1000s", MinRate, d)
	}
	if d := slot(3, 2); d != 1500*time.Millisecond {
		t.Fatalf("slot(3) at 2/s = %s, want 1.5s", d)
	}
	prev := time.Duration(-1)
	for _, i := range []int64{0, 1, 2, 1e6, 9_300_000, 1e7, 1e12, math.MaxInt64} {
		d := slot(i, MinRate)
		if d < prev {
			t.Fatalf("slot(%d) at %g/s = %s, before slot of a smaller i (%s)", i, MinRate, d, prev)
		}
		prev = d
	}
}

// TestSamplesBounded: however many round trips a step has, it keeps at
// most maxSamples of them, reserves little up front, and its percentiles
// and the run's stay representative.
func TestSamplesBounded(t *testing.T) {
	defer func(old int) { maxSamples = old }(maxSamples)
	maxSamples = 1000
	step := newSamples(1_000_000_000)
	if c := cap(step.keep); c > maxSamples {
		t.Fatalf("reserved %d samples up front for a billion tasks", c)
	}
	const n = 100_000
	for i := range n {
		step.add(time.Duration(i)) // uniform over [0, n)
	}
	if len(step.keep) != maxSamples || step.seen != n {
		t.Fatalf("kept %d of %d seen, want %d", len(step.keep), step.seen, maxSamples)
	}
	within := func(what string, got, want, tol time.Duration) {
		t.Helper()
		if got < want-tol || got > want+tol {
			t.Fatalf("%s = %d, want %d ± %d", what, got, want, tol)
		}
	}
	within("step p50", step.percentile(50), n/2, n/10)
	within("step p99", step.percentile(99), n*99/100, n/50)

	// The run: the step above, then one three times as long whose round
	// trips are all n; a quarter of the run's are below n.
	var run samples
	run.merge(&step)
	second := newSamples(3 * n)
	for range 3 * n {
		second.add(n)
	}
	run.merge(&second)
	if len(run.keep) != maxSamples || run.seen != 4*n {
		t.Fatalf("the run kept %d of %d seen", len(run.keep), run.seen)
	}
	within("run p10", run.percentile(10), n*4/10, n/10)
	within("run p50", run.percentile(50), n, 0)

	// Small counts keep everything: exact figures.
	var small, a, b samples
	for i := range 10 {
		a.add(time.Duration(i))
		b.add(time.Duration(10 + i))
	}
	small.merge(&a)
	small.merge(&b)
	if len(small.keep) != 20 || small.percentile(100) != 19 || small.percentile(0) != 0 {
		t.Fatalf("small run: %v", small.keep)
	}
}
