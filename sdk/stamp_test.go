package sdk

import (
	"testing"
	"time"
)

// TestStampsAreWallTime: a stamp lies between the wall clock read before
// and after it (with a millisecond's slack for slewing), also when the
// reading it extends is stale and when it is fresh.
func TestStampsAreWallTime(t *testing.T) {
	var c stampClock
	check := func(what string) {
		t.Helper()
		before := time.Now().UnixNano()
		got := c.now()
		after := time.Now().UnixNano()
		if got < before-int64(time.Millisecond) || got > after+int64(time.Millisecond) {
			t.Fatalf("%s: stamp %d outside the wall clock's %d..%d", what, got, before, after)
		}
	}
	check("first")
	check("within the period")
	old := time.Now().Add(-time.Hour) // as if the wall clock had stepped an hour since
	c.base.Store(&stampBase{at: old, wall: old.UnixNano()})
	check("stale reading")
	if b := c.base.Load(); time.Since(b.at) > time.Minute {
		t.Fatal("a stale reading was not replaced")
	}
}
