package supervisor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/examples/chaos"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// TestLateReplyReachesStreamOnly: a reply to a task its caller gave up on
// still reaches the record stream (PROTOCOL.md section 6), but resolves
// nothing: no further task event, no answered count.
func TestLateReplyReachesStreamOnly(t *testing.T) {
	h := startHarness(t, plugin(t, "chaos", supervisortest.Bin("chaos"), `restart = "never"`))
	h.WaitState("chaos", supervisor.StateRunning)
	events, cancel, err := h.Sup.Subscribe(context.Background(), 10000)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()

	ctx, giveUp := context.WithCancel(context.Background())
	go func() {
		supervisortest.WaitUntil(t, "the task in flight", 10*time.Second, func() bool { return h.Status("chaos").InFlight == 1 })
		giveUp()
	}()
	r, err := h.Sup.SendTask(ctx, supervisor.TaskRequest{Plugin: "chaos", ID: chaos.TaskSleep, Content: "1s", Token: "late"})
	if !errors.Is(err, context.Canceled) || r.Outcome != supervisor.OutcomeCancelled {
		t.Fatalf("given up: %+v, %v", r, err)
	}
	var outcomes []supervisor.Outcome
	var late *protocol.Record
	for late == nil {
		ev := <-events
		switch {
		case ev.Type == supervisor.EventTask && ev.Task.Token == "late":
			outcomes = append(outcomes, ev.Task.Outcome)
		case ev.Type == supervisor.EventRecords:
			for i := range ev.Records {
				if ev.Records[i].Token == "late" {
					late = &ev.Records[i]
				}
			}
		}
	}
	if _, final := late.Fields[protocol.FieldTaskStatus]; !final {
		t.Fatalf("the late record %+v is not the final reply", late)
	}
	// The session's read loop would publish a task event for the late
	// reply before reading the next frame: the next task's end comes after.
	next, err := h.Sup.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "chaos", ID: chaos.TaskSleep, Content: "1ms"})
	if err != nil || !next.Outcome.OK() {
		t.Fatalf("next task: %+v, %v", next, err)
	}
	for done := false; !done; {
		ev := <-events
		switch {
		case ev.Type == supervisor.EventTask && ev.Task.Token == "late":
			outcomes = append(outcomes, ev.Task.Outcome)
		case ev.Type == supervisor.EventTask && ev.Task.Token == next.Token && ev.Task.Outcome.Final():
			done = true
		}
	}
	if len(outcomes) != 2 || outcomes[0] != supervisor.OutcomePending || outcomes[1] != supervisor.OutcomeCancelled {
		t.Fatalf("task events of the late task: %v, want pending then cancelled only", outcomes)
	}
	if st := h.Status("chaos"); st.TasksAnswered != 1 {
		t.Fatalf("answered %d tasks, want 1: the late reply must not count", st.TasksAnswered)
	}
}
