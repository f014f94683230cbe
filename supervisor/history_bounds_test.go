package supervisor_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

var logsOnly = []supervisor.EventType{supervisor.EventSupervisorLog}

func hasLog(evs []supervisor.Event, msg, instance string) bool {
	for _, e := range evs {
		if e.SupervisorLog != nil && e.SupervisorLog.Message == msg && e.Instance == instance {
			return true
		}
	}
	return false
}

// TestChattyLogKeepsOthersHistory: plugin output forwarded to the log is
// not kept (it is in History as EventLog already); lines about one instance
// flush only that instance's lines; a flood of engine-wide lines is bounded
// in rate and counted, and keeps the lines before it.
func TestChattyLogKeepsOthersHistory(t *testing.T) {
	h := startHarness(t, plugin(t, "chatty", supervisortest.Bin("echo"), "")+plugin(t, "quiet", supervisortest.Bin("echo"), ""))
	h.WaitState("chatty", supervisor.StateRunning)
	h.WaitState("quiet", supervisor.StateRunning)
	supervisortest.WaitUntil(t, "quiet's state line", 10e9, func() bool {
		return hasLog(historyOf(t, h.Sup, supervisor.HistoryQuery{Plugin: "quiet", Types: logsOnly}), "state", "quiet")
	})
	log := h.Sup.Logger()
	out := supervisor.NotInHistory(context.Background())
	for i := range 3000 {
		log.InfoContext(out, "plugin output", "instance", "chatty", "line", fmt.Sprint("output ", i))
	}
	if hasLog(historyOf(t, h.Sup, supervisor.HistoryQuery{Types: logsOnly}), "plugin output", "chatty") {
		t.Fatal("plugin output forwarded to the log is in History")
	}
	for i := range 5000 {
		log.Warn("about chatty", "instance", "chatty", "n", i)
	}
	if !hasLog(historyOf(t, h.Sup, supervisor.HistoryQuery{Plugin: "quiet", Types: logsOnly}), "state", "quiet") {
		t.Fatal("lines about chatty flushed quiet's state line out of History")
	}
	if !hasLog(historyOf(t, h.Sup, supervisor.HistoryQuery{Types: logsOnly}), "supervisor ready", "") {
		t.Fatal("lines about chatty flushed the engine's own lines out of History")
	}
	before := supervisortest.InfoOf(t, h.Sup).HistoryDropped
	for i := range 5000 {
		log.Warn("engine-wide", "n", i)
	}
	if !hasLog(historyOf(t, h.Sup, supervisor.HistoryQuery{Types: logsOnly}), "supervisor ready", "") {
		t.Fatal("a flood of engine-wide lines flushed the earlier ones out of History")
	}
	if d := supervisortest.InfoOf(t, h.Sup).HistoryDropped - before; d < 4000 {
		t.Fatalf("5000 engine-wide lines at once: %d counted dropped, want most", d)
	}
}

// TestReloadForgetsRemovedHistory: the history of an instance a reload
// removed is let go of.
func TestReloadForgetsRemovedHistory(t *testing.T) {
	var next string
	h := startHarness(t, plugin(t, "echo", supervisortest.Bin("echo"), "")+plugin(t, "gone", supervisortest.Bin("echo"), ""),
		func(o *supervisor.Options) { o.Reload = reloadFrom(o.Config.Agent.WorkDir, &next) })
	h.WaitState("echo", supervisor.StateRunning)
	h.WaitState("gone", supervisor.StateRunning)
	next = plugin(t, "echo", supervisortest.Bin("echo"), "")
	if err := h.Sup.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, e := range historyOf(t, h.Sup, supervisor.HistoryQuery{Types: []supervisor.EventType{supervisor.EventState, supervisor.EventTask, supervisor.EventRecords}}) {
		if e.Instance == "gone" {
			t.Fatalf("history of the removed instance is still kept: %+v", e)
		}
	}
	if got := supervisor.HistoryInstances(h.Sup); got != 1 {
		t.Fatalf("history holds %d instances, want 1", got)
	}
}
