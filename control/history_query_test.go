package control_test

import (
	"context"
	"errors"
	"testing"

	"github.com/plugvisor/plugvisor/control"
	ct "github.com/plugvisor/plugvisor/control/controltest"
	"github.com/plugvisor/plugvisor/supervisor"
)

// TestHistoryBadQueryIsABadRequest: the socket refuses what History in
// process refuses, with its words, as bad_request.
func TestHistoryBadQueryIsABadRequest(t *testing.T) {
	e := ct.Start(t, ct.Plugin(t, "echo", ct.Bin("echo"), ""), ct.Options{})
	e.WaitState("echo", supervisor.StateRunning)
	ctx := context.Background()
	c := e.Dial()
	for _, q := range []supervisor.HistoryQuery{
		{Types: []supervisor.EventType{supervisor.EventState, supervisor.EventTask, supervisor.EventLog}},
		{Types: []supervisor.EventType{supervisor.EventTask, supervisor.EventTask}},
		{Types: []supervisor.EventType{"a", "b", "c", "d", "e", "f"}},
		{N: -3},
	} {
		_, local := e.Sup.History(ctx, q)
		_, remote := c.History(ctx, q)
		ce, ok := errors.AsType[*control.Error](remote)
		if local == nil || !ok || ce.Code != control.CodeBadRequest || remote.Error() != local.Error() {
			t.Errorf("%+v: remote %v, local %v; want the same, as bad_request", q, remote, local)
		}
	}
}
