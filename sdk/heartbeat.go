package sdk

import (
	"time"

	"github.com/plugvisor/plugvisor/protocol"
)

// The SDK follows the supervisor's heartbeat rather than keeping its own:
// while frames arrive from the supervisor (its pings, every interval, above
// all) the SDK only answers, so each interval costs one exchange, not two.
//
// One timer watches the silence, and only its own firing re-arms it: a
// frame heard moves no timer. In Go, moving a timer later leaves the
// runtime to wake at the old time anyway (the timer heap is fixed up
// lazily), so a timer pushed away by each ping, and a read deadline renewed
// by it, each woke an idle plugin once more per interval than the ping
// itself. Re-armed from its firing, the timer lands about every pingAt,
// a few intervals, while the supervisor is healthy.
//
// When it fires after pingAt of silence the SDK pings (a supervisor that
// does not ping, or a slow one, gets a frame to answer), and after
// deadAfter it gives the supervisor up.

// deadAfter is how long silence from the supervisor means it is gone: three
// missed heartbeats and a margin for a busy machine.
func deadAfter(heartbeat time.Duration) time.Duration {
	if heartbeat <= 0 {
		return 0 // heartbeats disabled: wait forever
	}
	return 3*heartbeat + max(heartbeat/2, time.Second)
}

// pingAt is the silence after which the SDK pings: an interval before it
// would give up, so a live supervisor has a whole interval to answer, and
// well past PROTOCOL.md's one and a half intervals.
func pingAt(heartbeat time.Duration) time.Duration { return deadAfter(heartbeat) - heartbeat }

// nextLook is how long after a look that found q of silence the timer
// should fire again: when a ping or giving up could first be due if
// nothing more is heard.
func nextLook(heartbeat, q time.Duration) time.Duration {
	if p := pingAt(heartbeat); q < p {
		return p - q
	}
	return max(deadAfter(heartbeat)-q, time.Millisecond)
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

// heard notes that a frame arrived from the supervisor. It moves no timer
// (see above): the next look reads the time it stored.
func (t *supervised) heard() {
	t.lastHeard.Store(int64(t.clock.Now().Sub(t.epoch)))
}

// quiet is how long the supervisor has been silent.
func (t *supervised) quiet() time.Duration {
	return t.clock.Now().Sub(t.epoch) - time.Duration(t.lastHeard.Load())
}

// watchLoop is the heartbeat's one timer: it pings once per silence of
// pingAt, and after deadAfter of silence ends the read, which reports the
// supervisor gone.
func (t *supervised) watchLoop() {
	defer t.wg.Done()
	timer := t.beat
	defer timer.Stop()
	pinged := int64(-1) // the lastHeard of the silence already pinged
	for seq := uint64(1); ; {
		select {
		case <-timer.C():
		case <-t.quit:
			return
		}
		q := t.quiet()
		switch heard := t.lastHeard.Load(); {
		case q >= deadAfter(t.heartbeat):
			t.giveUp()
			return
		case q >= pingAt(t.heartbeat) && heard != pinged:
			if err := t.c.Send(&protocol.Ping{Seq: seq, Time: time.Now().UnixNano()}); err != nil {
				t.sendFailed("send ping", err)
				return
			}
			seq++
			pinged = heard
		}
		timer.Reset(nextLook(t.heartbeat, q))
	}
}

// giveUp ends the read loop's wait with a deadline already past: the
// Conn sets no read deadline of its own after the handshake, so the read
// loop's timeout is this one, and it reports the supervisor's silence. The
// write deadline goes too: nothing more is owed to a supervisor given up,
// and no writer may stay blocked on it.
func (t *supervised) giveUp() {
	_ = t.c.NetConn().SetDeadline(time.Unix(1, 0))
}
