package ctl_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/control"
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

// TestHistoryVerbSaysWhatWasLeftOut: a history beyond a frame prints the
// newest events that fit and says on stderr how many older ones it left out.
func TestHistoryVerbSaysWhatWasLeftOut(t *testing.T) {
	e := ct.Start(t, ct.Plugin(t, "echo", ct.Bin("echo"), ""), ct.Options{Server: func(s *control.Server) { s.MaxFrame = 2048 }})
	e.WaitState("echo", supervisor.StateRunning)
	for range 8 {
		if err := e.Sup.Restart(context.Background(), "echo"); err != nil {
			t.Fatal(err)
		}
	}
	r := ctlRun(t, e, "history", "echo")
	r.want(t, ctl.ExitOK, "state     echo running")
	if !strings.Contains(r.stderr, "older events left out to fit a frame") {
		t.Fatalf("stderr %q, want the count of events left out", r.stderr)
	}
}
