package supervisor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/examples/chaos"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

func historyOf(t *testing.T, api supervisor.API, q supervisor.HistoryQuery) []supervisor.Event {
	t.Helper()
	evs, err := api.History(context.Background(), q)
	if err != nil {
		t.Fatalf("history %+v: %v", q, err)
	}
	return evs
}

func historyBytes(evs []supervisor.Event) int64 {
	var n int64
	for i := range evs {
		n += evs[i].Size()
	}
	return n
}

// TestHistoryStaysWithinItsBudget: a plugin flooding records (and tasks
// with many progress records) keeps at most its budget of them in History,
// the rest counted as dropped, and its state changes are still there.
func TestHistoryStaysWithinItsBudget(t *testing.T) {
	const perInstance = 64 << 10 // a quarter each for states, tasks, records, log lines
	h := startHarness(t, plugin(t, "flood", supervisortest.Bin("chaos"), `restart = "never"`),
		func(o *supervisor.Options) { o.HistoryMemory = perInstance })
	h.WaitState("flood", supervisor.StateRunning)
	ctx := context.Background()
	for range 5 {
		// 20,000 records of about 400 bytes estimated: 8 MB offered.
		r, err := h.Sup.SendTask(ctx, supervisor.TaskRequest{Plugin: "flood", ID: chaos.TaskFlood, Content: "20000"})
		if err != nil || !r.Outcome.OK() {
			t.Fatalf("flood task: %+v, %v", r.Outcome, err)
		}
	}
	// 50 progress records of 2 KB: a reply larger than the budget.
	if r, err := h.Sup.SendTask(ctx, supervisor.TaskRequest{Plugin: "flood", ID: chaos.TaskBulk, Content: "50:2000"}); err != nil || len(r.Records) != 51 {
		t.Fatalf("bulk task: %d records, %v", len(r.Records), err)
	}
	records := historyOf(t, h.Sup, supervisor.HistoryQuery{Plugin: "flood", Types: []supervisor.EventType{supervisor.EventRecords}})
	if len(records) == 0 {
		t.Fatal("no records kept")
	}
	if got := historyBytes(records); got > perInstance/4 {
		t.Fatalf("records kept take %d bytes, budget %d", got, perInstance/4)
	}
	var tasks []supervisor.Event
	// The outcome is published just after SendTask has its reply.
	supervisortest.WaitUntil(t, "6 task outcomes", 10*time.Second, func() bool {
		tasks = historyOf(t, h.Sup, supervisor.HistoryQuery{Plugin: "flood", Types: []supervisor.EventType{supervisor.EventTask}})
		return len(tasks) >= 6
	})
	if bulk := tasks[len(tasks)-1].Task; len(tasks) != 6 || !bulk.Outcome.OK() || len(bulk.Reply.Records) != 1 || bulk.Reply.Dropped != 50 {
		t.Fatalf("tasks kept: %d, the last with %d reply records, %d dropped; want 6, the bulk one's final record alone",
			len(tasks), len(bulk.Reply.Records), bulk.Reply.Dropped)
	}
	if got := historyBytes(tasks); got > perInstance/4 {
		t.Fatalf("tasks kept take %d bytes, budget %d", got, perInstance/4)
	}
	// Records are counted one each, however they were batched: every one
	// of the 100,000 flooded is kept or counted.
	var kept uint64
	for _, e := range records {
		kept += uint64(len(e.Records))
	}
	info := supervisortest.InfoOf(t, h.Sup)
	if info.HistoryDropped+kept < 100_000 || info.HistoryDroppedBytes < (100_000-kept)*200 {
		t.Fatalf("history dropped %d records (%d bytes) and kept %d; want all 100,000 kept or counted", info.HistoryDropped, info.HistoryDroppedBytes, kept)
	}
	states := historyOf(t, h.Sup, supervisor.HistoryQuery{Plugin: "flood", Types: []supervisor.EventType{supervisor.EventState}})
	if len(states) < 2 || states[len(states)-1].State != supervisor.StateRunning {
		t.Fatalf("state changes after the flood: %+v", states)
	}
}

// TestHistoryKeepsTheExit: a crash is in History as the change to exited
// with the reason and the exit's code, and the supervisor's own log about
// it is there too, for that plugin.
func TestHistoryKeepsTheExit(t *testing.T) {
	h := startHarness(t, plugin(t, "crash", supervisortest.Bin("chaos"), `restart = "never"`+"\n"+`args = ["--exit-code", "3"]`)+
		plugin(t, "echo", supervisortest.Bin("echo"), ""))
	h.WaitState("crash", supervisor.StateRunning)
	h.WaitState("echo", supervisor.StateRunning)
	_, _ = h.Sup.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "crash", ID: chaos.TaskCrash})
	h.WaitState("crash", supervisor.StateExited)
	supervisortest.WaitStateEvent(t, h.Sup, "crash", supervisor.StateExited)
	states := historyOf(t, h.Sup, supervisor.HistoryQuery{Plugin: "crash", Types: []supervisor.EventType{supervisor.EventState}})
	last := states[len(states)-1]
	if last.State != supervisor.StateExited || last.Exit == nil ||
		last.Exit.Code != 3 || !strings.Contains(last.Reason, "exit 3") || last.Exit.Reason != last.Reason {
		t.Fatalf("last state change %+v (exit %+v), want exited with exit 3", last, last.Exit)
	}
	for _, e := range states {
		if e.Instance != "crash" {
			t.Fatalf("history of crash holds %s's event", e.Instance)
		}
	}
	logs := historyOf(t, h.Sup, supervisor.HistoryQuery{Plugin: "crash", Types: []supervisor.EventType{supervisor.EventSupervisorLog}})
	var said bool
	for _, e := range logs {
		l := e.SupervisorLog
		if e.Instance != "crash" {
			t.Fatalf("log line about %q in crash's history: %+v", e.Instance, l)
		}
		said = said || (l.Level == "WARN" && l.Message == "state" && strings.Contains(l.Attrs, "to=exited") && strings.Contains(l.Attrs, `reason="exited: exit 3`))
	}
	if !said {
		t.Fatalf("the supervisor's log of the exit is not in History: %+v", logs)
	}
	all := historyOf(t, h.Sup, supervisor.HistoryQuery{})
	var ready bool
	for _, e := range all {
		ready = ready || (e.Type == supervisor.EventSupervisorLog && e.SupervisorLog.Message == "supervisor ready")
	}
	if !ready {
		t.Fatal(`"supervisor ready" is not in the whole History`)
	}
	if n := len(historyOf(t, h.Sup, supervisor.HistoryQuery{N: 3})); n != 3 {
		t.Fatalf("N 3 gave %d events", n)
	}
	if _, err := h.Sup.History(context.Background(), supervisor.HistoryQuery{Plugin: "nosuch"}); err == nil {
		t.Fatal("history of an unknown plugin: no error")
	}
}

// TestSupervisorLogIsLive: what the engine logs reaches subscribers as it
// is logged.
func TestSupervisorLogIsLive(t *testing.T) {
	h := startHarness(t, plugin(t, "echo", supervisortest.Bin("echo"), ""))
	h.WaitState("echo", supervisor.StateRunning)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	events, stop, err := h.Sup.Subscribe(ctx, 1024)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	go h.Sup.Restart(ctx, "echo")
	for e := range events {
		if e.Type == supervisor.EventSupervisorLog && e.SupervisorLog.Message == "state" &&
			strings.Contains(e.SupervisorLog.Attrs, "to=stopping") && e.Instance == "echo" && e.Plugin == "echo" {
			return
		}
	}
	t.Fatal("no live supervisor log line of the restart")
}
