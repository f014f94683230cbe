package sdk_test

import (
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/sdk"
	"github.com/plugvisor/plugvisor/sdk/sdktest"
)

// The SDK follows the supervisor's heartbeat: while the supervisor's pings
// arrive it only answers them; after PingAfter of silence it pings, and
// again after each further PingAfter of silence. Time is the test's: the
// heartbeat's timer fires only when the test fires it, and each of its
// re-armings tells the test that it has looked.
func TestHeartbeatFollowsTheSupervisor(t *testing.T) {
	const hb = time.Minute // the real read deadline, 3.5 minutes, never fires here
	after := sdk.PingAfter(hb)
	clock := sdk.NewFakeClock()
	sv := sdktest.New(t)
	sessions := make(chan *sdk.Session, 1)
	app := sdk.New("follow").OnRun(func(_ sdk.Sink, s *sdk.Session) error {
		sessions <- s
		s.Wait()
		return nil
	})
	done := sv.Start(app, sdk.WithClock(clock))
	c := sv.Accept()
	w := sdktest.DefaultWelcome()
	w.Heartbeat = hb
	c.Welcome(w)
	sess := <-sessions
	if d := <-clock.Armed; d != after {
		t.Fatalf("first ping armed after %v, want %v", d, after)
	}
	// exchange is the supervisor's ping and the SDK's pong: once the pong is
	// here, the SDK has heard the ping, and any ping it sent before it has
	// arrived too (one stream, in order).
	exchange := func() { c.WaitPong(c.Ping()) }
	// look fires the heartbeat's timer and returns the delay it re-arms.
	look := func() time.Duration {
		clock.Fire()
		return <-clock.Armed
	}

	// pushed is the timer pushed a full PingAfter away by a frame heard.
	pushed := func(what string) {
		t.Helper()
		if d := <-clock.Armed; d != after {
			t.Errorf("%s: the timer re-armed after %v, want %v", what, d, after)
		}
	}

	for range 5 { // the supervisor pings every interval: the timer never fires
		clock.Advance(hb)
		exchange()
		pushed("a ping heard")
	}
	clock.Advance(hb / 2) // a timer that fires anyway looks again when the silence would be long enough
	if d := look(); d != after-hb/2 {
		t.Errorf("re-armed after %v, %v into the silence; want %v", d, hb/2, after-hb/2)
	}
	exchange()
	pushed("a ping heard half an interval on")
	if n := c.Pings(); n != 0 {
		t.Fatalf("the SDK sent %d pings while the supervisor's arrived", n)
	}

	clock.Advance(after) // silence
	if d := look(); d != after {
		t.Errorf("re-armed after %v once it pinged, want %v", d, after)
	}
	c.WaitPings(1)
	// The supervisor's pong to that ping is heard, and pushes the timer,
	// before the time moves on.
	pushed("the pong to the SDK's ping")
	waitUntil(t, "the pong to the SDK's ping", func() bool { return sess.RTT() != 0 })
	clock.Advance(after)
	look()
	c.WaitPings(2)
	pushed("the pong to the second ping")

	for range 3 { // the supervisor's pings resume: the SDK falls quiet again
		clock.Advance(hb)
		exchange()
		pushed("a ping heard")
	}
	exchange() // no time has passed: a frame this soon pushes nothing
	select {
	case d := <-clock.Armed:
		t.Errorf("a frame heard right after another re-armed the timer (%v)", d)
	default:
	}
	if n := c.Pings(); n != 2 {
		t.Errorf("the SDK sent %d pings, want the 2 of the silences", n)
	}
	c.Shutdown(time.Minute, "done")
	c.WaitGoodbye()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}
