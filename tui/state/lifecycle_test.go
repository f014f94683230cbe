package state

import (
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
)

// TestLifecycleMarkers: each state event puts a marker line in the
// instance's log, its reason bounded and made safe, charged to the log
// ring's byte budget like any line.
func TestLifecycleMarkers(t *testing.T) {
	s := NewWith(Budgets{Logs: 8 << 10})
	at := time.Unix(100, 0)
	state := func(st supervisor.State, reason string) supervisor.Event {
		return supervisor.Event{Type: supervisor.EventState, Time: at, Plugin: "p", Instance: "p.0", State: st, Reason: reason}
	}
	s.Apply([]supervisor.Event{
		state(supervisor.StateRunning, "registered (pid 7, protocol v1)"),
		state(supervisor.StateExited, "exited: exit 1"),
		state(supervisor.StateBackoff, "restart 1 in 1.7s\x1b[2J"),
	})
	logs := s.Plugin("p.0").Logs
	var got []string
	for i := range logs.Len() {
		l := logs.At(i)
		if l.Stream != Lifecycle || !l.Time.Equal(at) {
			t.Errorf("marker %d: stream %q time %v", i, l.Stream, l.Time)
		}
		got = append(got, l.Text)
	}
	want := []string{"running: registered (pid 7, protocol v1)", "exited: exit 1 · restart 1 in 1.7s"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("markers %q, want %q", got, want)
	}
	if logs.Bytes() == 0 {
		t.Error("markers not charged to the log budget")
	}

	long := strings.Repeat("x", 10_000)
	for range 50 {
		s.Apply([]supervisor.Event{state(supervisor.StateFailed, long)})
	}
	last := logs.At(logs.Len() - 1).Text
	if len(last) > maxMarkerReason+len("failed: …") || !strings.HasSuffix(last, "…") {
		t.Errorf("a long reason is kept as %d bytes: %q…", len(last), last[:40])
	}
	if logs.Bytes() > 8<<10 {
		t.Errorf("markers hold %d bytes, over the 8 KiB budget", logs.Bytes())
	}
}
