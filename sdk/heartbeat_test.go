package sdk_test

import (
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/sdk"
	"github.com/plugvisor/plugvisor/sdk/sdktest"
)

// The SDK follows the supervisor's heartbeat: while the supervisor's pings
// arrive it only answers them, and no frame it hears moves its timer; the
// timer, re-armed only when it fires, pings once per silence of PingAt and
// gives the supervisor up after DeadAfter. Time is the test's: the timer
// fires only when the test fires it, and each of its re-armings tells the
// test that it has looked.
func TestHeartbeatFollowsTheSupervisor(t *testing.T) {
	const hb = time.Minute
	pingAt, dead := sdk.PingAt(hb), sdk.DeadAfter(hb)
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
	if d := <-clock.Armed; d != pingAt {
		t.Fatalf("first look armed after %v, want %v", d, pingAt)
	}
	// exchange is the supervisor's ping and the SDK's pong: once the pong is
	// here, the SDK has heard the ping, and any ping it sent before it has
	// arrived too (one stream, in order).
	exchange := func() { c.WaitPong(c.Ping()) }
	// look fires the timer and returns the delay it re-arms.
	look := func() time.Duration {
		clock.Fire()
		return <-clock.Armed
	}
	unmoved := func(what string) {
		t.Helper()
		select {
		case d := <-clock.Armed:
			t.Errorf("%s re-armed the timer (%v): a frame heard must move none", what, d)
		default:
		}
	}

	for range 5 {
		clock.Advance(hb)
		exchange()
	}
	unmoved("the supervisor's pings")
	clock.Advance(hb / 2)
	if d := look(); d != pingAt-hb/2 {
		t.Errorf("half an interval after a ping, re-armed after %v; want %v, when a ping could first be due", d, pingAt-hb/2)
	}
	exchange()
	unmoved("a ping heard after a look")
	if n := c.Pings(); n != 0 {
		t.Fatalf("the SDK sent %d pings while the supervisor's arrived", n)
	}

	clock.Advance(pingAt) // silence
	if d := look(); d != dead-pingAt {
		t.Errorf("once it pinged, re-armed after %v; want %v, when it would give up", d, dead-pingAt)
	}
	c.WaitPings(1)
	waitUntil(t, "the pong to the SDK's ping", func() bool { return sess.RTT() != 0 })
	clock.Advance(hb / 2)
	if d := look(); d != pingAt-hb/2 {
		t.Errorf("the pong heard, re-armed after %v; want %v", d, pingAt-hb/2)
	}

	// A hung supervisor: it reads nothing and answers nothing. The test
	// conn's reader stops once it has taken this exchange's pong.
	c.Pause()
	exchange()
	clock.Advance(pingAt)
	if d := look(); d != dead-pingAt {
		t.Errorf("a second silence pinged, re-armed after %v; want %v", d, dead-pingAt)
	}
	clock.Advance(hb / 4)
	if d := look(); d != dead-pingAt-hb/4 {
		t.Errorf("re-armed after %v later in the same silence; want %v", d, dead-pingAt-hb/4)
	}
	clock.Advance(dead)
	clock.Fire()
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "nothing from the supervisor") {
		t.Errorf("Run = %v, want the supervisor given up for its silence", err)
	}
	c.Resume()
	c.WaitClosed()
	if n := c.Pings(); n != 2 {
		t.Errorf("the SDK sent %d pings, want one for each of the 2 silences", n)
	}
}
