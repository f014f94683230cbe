package tui

import (
	"regexp"
	"testing"
	"time"
	"unsafe"

	tea "charm.land/bubbletea/v2"

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

// TestUnchangedFrameReused: a message that changes no pane (most of what an
// idle console handles) hands the last frame back as it was, not rebuilt;
// a change is drawn.
func TestUnchangedFrameReused(t *testing.T) {
	r := startRig(t, true)
	r.waitState("echo", supervisor.StateRunning)
	now := time.Now()
	m := newModel(r.sup, Options{Theme: "dark", now: func() time.Time { return now }})
	t.Cleanup(m.close)
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	sts, err := r.sup.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	info, err := r.sup.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	m.Update(snapshotMsg{statuses: sts, info: info})
	first, again := m.frame(), m.frame()
	if unsafe.StringData(first) != unsafe.StringData(again) {
		t.Fatal("an unchanged frame was built again")
	}
	now = now.Add(time.Hour)
	m.Update(snapshotMsg{statuses: sts, info: info})
	if later := m.frame(); later == first {
		t.Fatal("an hour later the frame is the same: the clock did not move it")
	}
	m.showHelp = true
	if help := m.frame(); help == first || unsafe.StringData(help) == unsafe.StringData(m.frame()) {
		t.Fatal("the help overlay is not drawn afresh")
	}
}

// TestQuickSnapshotNoTick: a snapshot that comes within the second is
// handed over as it is, with no tick of its own; one that takes longer
// first moves the clock, then still arrives.
func TestQuickSnapshotNoTick(t *testing.T) {
	quick := make(chan snapshotMsg, 1)
	quick <- snapshotMsg{info: supervisor.Info{Name: "quick"}}
	if msg, ok := awaitSnapshot(quick)().(snapshotMsg); !ok || msg.info.Name != "quick" {
		t.Fatalf("quick snapshot: got %T, want the snapshot", msg)
	}
	slow := make(chan snapshotMsg, 1)
	wait, ok := awaitSnapshot(slow)().(snapshotWaitMsg)
	if !ok {
		t.Fatal("a snapshot outstanding for a second did not say so")
	}
	slow <- snapshotMsg{info: supervisor.Info{Name: "slow"}}
	if msg, ok := wait.wait().(snapshotMsg); !ok || msg.info.Name != "slow" {
		t.Fatalf("after the wait: got %T, want the snapshot", msg)
	}
}
