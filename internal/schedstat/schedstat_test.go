package schedstat

import (
	"os"
	"testing"
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
	sum := 0
	for i := range 20_000_000 {
		sum += i % 7
	}
	after, err := Of(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	d := after.Minus(before)
	if d.CPU <= 0 || d.Runs < 0 {
		t.Fatalf("after a loop (sum %d): %+v", sum, d)
	}
}

func TestOfNamesAMissingProcess(t *testing.T) {
	// pid_max is at most 2^22 on Linux: this pid cannot exist.
	if _, err := Of(1 << 23); err == nil {
		t.Fatal("no error for a pid that cannot exist")
	}
}
