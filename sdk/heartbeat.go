package sdk

import (
	"time"

	"github.com/plugvisor/plugvisor/protocol"
)

// The SDK follows the supervisor's heartbeat rather than keeping its own:
// while frames arrive from the supervisor (its pings, every interval, above
// all) the SDK only answers, and it pings only after hearing nothing for
// pingAfter, so each interval costs one exchange, not two. A supervisor
// that never pings (an older one) still gets a ping from the SDK every
// pingAfter of silence, and a hung one is still found by the read deadline
// (deadAfter), which no ping of ours resets.

// pingAfter is how long the supervisor may be silent before the SDK pings:
// half an interval more than the supervisor's own ping period, so a ping
// a little late on a busy machine does not draw one from us.
func pingAfter(heartbeat time.Duration) time.Duration { return heartbeat + heartbeat/2 }

// deadAfter is how long silence from the supervisor means it is gone: three
// missed heartbeats and a margin for a busy machine.
func deadAfter(heartbeat time.Duration) time.Duration {
	if heartbeat <= 0 {
		return 0 // heartbeats disabled: wait forever
	}
	return 3*heartbeat + max(heartbeat/2, time.Second)
}

// clock is the time the heartbeat follows: the real one, or a test's, which
// fires the timer when the test says.
type clock interface {
	Now() time.Time
	NewTimer(d time.Duration) clockTimer
}

type clockTimer interface {
	C() <-chan time.Time
	Reset(d time.Duration)
	Stop()
}

type realClock struct{}

func (realClock) Now() time.Time                      { return time.Now() }
func (realClock) NewTimer(d time.Duration) clockTimer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time   { return r.t.C }
func (r realTimer) Reset(d time.Duration) { r.t.Reset(d) }
func (r realTimer) Stop()                 { r.t.Stop() }

// heard notes that a frame arrived from the supervisor, and pushes the ping
// timer a full pingAfter away, at most once per quarter of it (a busy
// stream of tasks resets no timer per frame): while the supervisor's pings
// arrive the timer never fires, and an idle plugin wakes once per
// heartbeat, for the ping, not a second time for a timer that finds it was
// not needed.
func (t *supervised) heard() {
	now := int64(t.clock.Now().Sub(t.epoch))
	t.lastHeard.Store(now)
	if after := pingAfter(t.heartbeat); t.beat != nil && now-t.armed.Load() >= int64(after/4) {
		t.armed.Store(now)
		t.beat.Reset(after)
	}
}

// quiet is how long the supervisor has been silent.
func (t *supervised) quiet() time.Duration {
	return t.clock.Now().Sub(t.epoch) - time.Duration(t.lastHeard.Load())
}

// pingLoop pings the supervisor after pingAfter of silence, and again after
// each further pingAfter of silence.
func (t *supervised) pingLoop() {
	defer t.wg.Done()
	after := pingAfter(t.heartbeat)
	timer := t.beat
	defer timer.Stop()
	for seq := uint64(1); ; {
		select {
		case <-timer.C():
		case <-t.quit:
			return
		}
		if q := t.quiet(); q < after {
			timer.Reset(after - q)
			continue
		}
		if err := t.c.Send(&protocol.Ping{Seq: seq, Time: time.Now().UnixNano()}); err != nil {
			t.sendFailed("send ping", err)
			return
		}
		seq++
		timer.Reset(after)
	}
}
