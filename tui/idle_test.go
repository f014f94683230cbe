package tui

import (
	"regexp"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
)

// TestHeartbeatsWaitForTheSnapshot: a heartbeat does not wake the console
// (one a second per plugin kept an idle console busy); the feed keeps only
// each instance's latest, bounded by the instances, for the snapshot.
func TestHeartbeatsWaitForTheSnapshot(t *testing.T) {
	f := newFeed()
	t0 := time.Now()
	for i := range 1000 {
		f.push(supervisor.Event{Type: supervisor.EventHeartbeat, Instance: "echo.0", Time: t0.Add(time.Duration(i)), RTT: time.Duration(i)})
		f.push(supervisor.Event{Type: supervisor.EventHeartbeat, Instance: "echo.1", Time: t0, RTT: time.Millisecond})
	}
	select {
	case <-f.wake:
		t.Fatal("a heartbeat woke the console")
	default:
	}
	if len(f.pending) != 0 {
		t.Fatalf("heartbeats queued as events: %d", len(f.pending))
	}
	beats := f.takeBeats()
	if len(beats) != 2 {
		t.Fatalf("kept %d heartbeats, want one per instance", len(beats))
	}
	for _, e := range beats {
		if e.Instance == "echo.0" && e.RTT != 999 {
			t.Errorf("echo.0 kept heartbeat %v, want the latest", e.RTT)
		}
	}
	if len(f.takeBeats()) != 0 {
		t.Fatal("heartbeats handed over twice")
	}
	f.push(supervisor.Event{Type: supervisor.EventLog})
	select {
	case <-f.wake:
	default:
		t.Fatal("a log line did not wake the console")
	}
}

// TestHeartbeatShownAfterSnapshot: the heartbeat column still fills in
// from the snapshot's figures and the kept heartbeats.
func TestHeartbeatShownAfterSnapshot(t *testing.T) {
	r := startRig(t, true)
	r.waitState("echo", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitScreen("echo's heartbeat age and round trip", func(s string) bool {
		return heartbeatCell.MatchString(rowOf(s, "echo"))
	})
}

var heartbeatCell = regexp.MustCompile(`(<1s|\d+s)/\d+(\.\d)?(µs|ms)`)
