package supervisor_test

import (
	"context"
	"testing"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// badHistoryQueries are queries History refuses, with the error each gets,
// in process and through the control socket alike.
var badHistoryQueries = map[string]supervisor.HistoryQuery{
	`history: types[2]: unknown event type "log"`:       {Types: []supervisor.EventType{supervisor.EventState, supervisor.EventTask, supervisor.EventLog}},
	`history: types[1]: duplicate event type "state"`:   {Types: []supervisor.EventType{supervisor.EventState, supervisor.EventState}},
	`history: more than 4 types`:                        {Types: []supervisor.EventType{"a", "b", "c", "d", "e"}},
	`history: n -1 is negative`:                         {N: -1},
	`history: types[0]: unknown event type "heartbeat"`: {Types: []supervisor.EventType{supervisor.EventHeartbeat}},
}

// TestHistoryRefusesABadQuery: unknown and duplicate types, too many, and
// a negative n are refused, naming the entry.
func TestHistoryRefusesABadQuery(t *testing.T) {
	h := startHarness(t, plugin(t, "echo", supervisortest.Bin("echo"), ""))
	h.WaitState("echo", supervisor.StateRunning)
	for want, q := range badHistoryQueries {
		if _, err := h.Sup.History(context.Background(), q); err == nil || err.Error() != want {
			t.Errorf("%+v: %v, want %q", q, err, want)
		}
	}
}
