package state

import (
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
)

// TestLifecycleMergesBackoffIntoExit: the backoff that schedules the
// restart joins the exit's marker while that is the newest line, the ring
// charged for the longer line, not for two; after a line of output it is
// pushed alone.
func TestLifecycleMergesBackoffIntoExit(t *testing.T) {
	s := NewWith(Budgets{Logs: 8 << 10})
	at := time.Unix(100, 0)
	state := func(st supervisor.State, reason string) supervisor.Event {
		return supervisor.Event{Type: supervisor.EventState, Time: at, Plugin: "p", Instance: "p.0", State: st, Reason: reason}
	}
	output := supervisor.Event{Type: supervisor.EventLog, Plugin: "p", Instance: "p.0",
		Log: supervisor.LogLine{Time: at, Instance: "p.0", Stream: "stderr", Text: "late"}}
	s.Apply([]supervisor.Event{state(supervisor.StateExited, "exited: exit 1"), state(supervisor.StateBackoff, "restart 2 in 1.7s")})
	logs := s.Plugin("p.0").Logs
	if logs.Len() != 1 || logs.At(0).Text != "exited: exit 1 · restart 2 in 1.7s" {
		t.Fatalf("%d lines, newest %q; want one merged marker", logs.Len(), logs.At(logs.Len()-1).Text)
	}
	if got, want := logs.Bytes(), logSize(logs.At(0)); got != want {
		t.Errorf("ring charged %d bytes for the merged marker, want %d", got, want)
	}

	s.Apply([]supervisor.Event{state(supervisor.StateExited, "exited: exit 1"), output, state(supervisor.StateBackoff, "restart 3 in 3.4s")})
	if n := logs.Len(); n != 4 || logs.At(3).Text != "backoff: restart 3 in 3.4s" {
		t.Errorf("%d lines, newest %q; want the backoff alone after output", n, logs.At(n-1).Text)
	}
	var sum int64
	for i := range logs.Len() {
		sum += logSize(logs.At(i))
	}
	if logs.Bytes() != sum {
		t.Errorf("ring holds %d bytes, its lines %d", logs.Bytes(), sum)
	}
}
