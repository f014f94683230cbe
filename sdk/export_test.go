package sdk

import (
	"sync"
	"testing"
	"time"
)

// WithClock makes the heartbeat follow c instead of the real time.
func WithClock(c *FakeClock) Option { return func(o *options) { o.clock = c } }

// FakeClock is a clock whose time moves only by Advance and whose timer
// fires only by Fire. Armed yields the delay of every arming of the timer
// (its creation and each Reset), so a test knows when the heartbeat has
// looked at the time after a Fire.
type FakeClock struct {
	mu    sync.Mutex
	now   time.Time
	fire  chan time.Time
	Armed chan time.Duration
}

func NewFakeClock() *FakeClock {
	return &FakeClock{now: time.Unix(1, 0), fire: make(chan time.Time), Armed: make(chan time.Duration, 16)}
}

func (f *FakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the time forward by d.
func (f *FakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// Fire fires the timer, waiting until the heartbeat takes it.
func (f *FakeClock) Fire() { f.fire <- f.Now() }

func (f *FakeClock) NewTimer(d time.Duration) clockTimer {
	f.Armed <- d
	return fakeTimer{f}
}

type fakeTimer struct{ f *FakeClock }

func (t fakeTimer) C() <-chan time.Time   { return t.f.fire }
func (t fakeTimer) Reset(d time.Duration) { t.f.Armed <- d }
func (t fakeTimer) Stop()                 {}

// PingAt is how long the supervisor may be silent before the SDK pings.
func PingAt(heartbeat time.Duration) time.Duration { return pingAt(heartbeat) }

// DeadAfter is how long a silence the SDK waits before giving the
// supervisor up.
func DeadAfter(heartbeat time.Duration) time.Duration { return deadAfter(heartbeat) }

// EncodeOnce is the emit benchmarks' anchor.
func EncodeOnce(b *testing.B, fields Fields, n int) time.Duration { return encodeOnce(b, fields, n) }
