package ctl_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	ct "github.com/plugvisor/plugvisor/control/controltest"
	"github.com/plugvisor/plugvisor/ctl"
	"github.com/plugvisor/plugvisor/examples/chaos"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// TestHistoryVerb: `ctl history NAME` prints what the supervisor kept of a
// plugin: its state changes with the exit, and the log lines about it.
func TestHistoryVerb(t *testing.T) {
	e := ct.Start(t, ct.Plugin(t, "crash", ct.Bin("chaos"), `restart = "never"`+"\n"+`args = ["--exit-code", "5"]`), ct.Options{})
	e.WaitState("crash", supervisor.StateRunning)
	_, _ = e.Sup.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "crash", ID: chaos.TaskCrash})
	e.WaitState("crash", supervisor.StateExited)
	supervisortest.WaitStateEvent(t, e.Sup, "crash", supervisor.StateExited)
	r := ctlRun(t, e, "history", "crash", "-n", "50")
	r.want(t, ctl.ExitOK, "state     crash running (was starting): registered", "state     crash exited (was ", ": exited: exit 5", " [exit 5]\n",
		"supervisor_log crash WARN state plugin=crash instance=crash from=", " to=exited")
	r = ctlRun(t, e, "history", "crash", "-n", "1", "--json")
	var ev supervisor.Event
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &ev); err != nil || ev.Instance != "crash" {
		t.Fatalf("history --json: %v\n%s", err, r.stdout)
	}
	ctlRun(t, e, "history", "nosuch").wantErr(t, ctl.ExitFailed, "unknown plugin")
}
