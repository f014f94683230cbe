package protocol

import (
	"testing"
	"time"
)

// TestRenewDeadline: a deadline is set on first use, left alone while it
// is fresh, and moved once it has drawn a sixteenth of the timeout nearer;
// it never comes sooner than the timeout from the frame that needed it.
func TestRenewDeadline(t *testing.T) {
	const timeout = 16 * time.Second
	t0 := time.Unix(1000, 0)
	var armed time.Time
	dl, ok := renew(&armed, timeout, t0)
	if !ok || !dl.Equal(t0.Add(17*time.Second)) {
		t.Fatalf("first use: got %v %v, want a deadline 17s on", dl, ok)
	}
	for _, later := range []time.Duration{0, time.Millisecond, 999 * time.Millisecond} {
		if _, ok := renew(&armed, timeout, t0.Add(later)); ok {
			t.Errorf("%v after arming: moved, want it left", later)
		}
		if left := t0.Add(17 * time.Second).Sub(t0.Add(later)); left < timeout {
			t.Errorf("%v after arming: %v left, less than the timeout", later, left)
		}
	}
	dl, ok = renew(&armed, timeout, t0.Add(time.Second))
	if !ok || !dl.Equal(t0.Add(18*time.Second)) || !armed.Equal(t0.Add(time.Second)) {
		t.Fatalf("a sixteenth on: got %v %v armed %v, want it moved to 18s", dl, ok, armed)
	}
}
