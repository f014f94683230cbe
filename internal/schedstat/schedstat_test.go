package schedstat

import (
	"os"
	"testing"
	"time"
)

// TestOfCountsWork reads this process while it works: its CPU and runs only
// grow, and the work shows in its CPU.
func TestOfCountsWork(t *testing.T) {
	before, err := Of(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if before.CPU <= 0 || before.Runs <= 0 {
		t.Fatalf("a running process counted %+v", before)
	}
	// Work until the counter moves: the kernel folds a running thread's
	// time in at its ticks, so how much work that takes depends on the
	// machine. The deadline only bounds a counter that never moves.
	deadline := time.Now().Add(30 * time.Second)
	sum := 0
	for {
		for i := range 1_000_000 {
			sum += i % 7
		}
		after, err := Of(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if d := after.Minus(before); d.CPU > 0 && d.Runs >= 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s of work (sum %d): %+v then %+v", sum, before, after)
		}
	}
}

func TestOfNamesAMissingProcess(t *testing.T) {
	// pid_max is at most 2^22 on Linux: this pid cannot exist.
	if _, err := Of(1 << 23); err == nil {
		t.Fatal("no error for a pid that cannot exist")
	}
}
