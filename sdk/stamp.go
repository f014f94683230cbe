package sdk

import (
	"sync/atomic"
	"time"
)

// stampPeriod is how long one reading of the wall clock serves.
const stampPeriod = 10 * time.Millisecond

// stampClock stamps a queue's records. time.Now reads two clocks, the wall
// clock and the monotonic one, and on a virtual machine each read is tens
// of nanoseconds, a large share of an Emit. A record's timestamp needs only
// the wall time, so the wall clock is read once per stampPeriod and,
// between, the monotonic time elapsed since is added to it (one read): the
// stamp is the wall time but for what the wall clock was slewed within the
// period, at most stampPeriod × the slew rate (under NTP at most 500 ppm:
// 5 µs), and a step of the wall clock is taken up within stampPeriod.
type stampClock struct {
	base atomic.Pointer[stampBase]
}

type stampBase struct {
	at   time.Time // time.Now, with its monotonic reading
	wall int64     // at in nanoseconds since the Unix epoch
}

// now is the current wall time in nanoseconds since the Unix epoch.
func (c *stampClock) now() int64 {
	if b := c.base.Load(); b != nil {
		if since := time.Since(b.at); since >= 0 && since < stampPeriod {
			return b.wall + int64(since)
		}
	}
	t := time.Now()
	c.base.Store(&stampBase{at: t, wall: t.UnixNano()})
	return t.UnixNano()
}
