package control_test

import (
	"context"
	"errors"
	"testing"
	"time"

	ct "github.com/plugvisor/plugvisor/control/controltest"
	"github.com/plugvisor/plugvisor/examples/chaos"
	"github.com/plugvisor/plugvisor/supervisor"
)

// sleepTask is a chaos task that sleeps for d before it answers.
func sleepTask(d time.Duration) supervisor.TaskRequest {
	return supervisor.TaskRequest{Plugin: "chaos", ID: chaos.TaskSleep, Content: d.String()}
}

// TestLoneRequestDoesNotBlockTheConnection: while the only request of a
// connection runs, what the client sends next on the same connection
// (another request, then the first one's cancel) is still read and
// answered, and the connection carries on after it.
func TestLoneRequestDoesNotBlockTheConnection(t *testing.T) {
	e := ct.Start(t, ct.Plugin(t, "chaos", ct.Bin("chaos"), ""), ct.Options{})
	e.WaitState("chaos", supervisor.StateRunning)
	c := e.Dial()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	long := make(chan error, 1)
	go func() {
		_, err := c.SendTask(ctx, sleepTask(time.Minute))
		long <- err
	}()
	ct.WaitUntil(t, "the long task to be in flight", 10*time.Second, func() bool { return e.Server.Stats().InFlight == 1 })
	if r, err := c.SendTask(context.Background(), sleepTask(0)); err != nil || r.Outcome != supervisor.OutcomeAnswered {
		t.Fatalf("a task behind a long one on the same connection: %+v %v", r, err)
	}
	if snap, err := c.Snapshot(context.Background()); err != nil || len(snap) != 1 {
		t.Fatalf("a snapshot behind a long task: %v %v", snap, err)
	}
	cancel()
	select {
	case err := <-long:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the long task, cancelled: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the long task's cancel was never read")
	}
	ct.WaitUntil(t, "the server to forget the long task", 10*time.Second, func() bool { return e.Server.Stats().InFlight == 0 })
	for i := range 50 {
		if _, err := c.SendTask(context.Background(), sleepTask(0)); err != nil {
			t.Fatalf("task %d one at a time after the cancel: %v", i, err)
		}
	}
}

// TestServerStopEndsALoneRequest: the server stopping while the only
// request of a connection runs cancels it and closes the connection at
// once, without waiting for the task.
func TestServerStopEndsALoneRequest(t *testing.T) {
	e := ct.Start(t, ct.Plugin(t, "chaos", ct.Bin("chaos"), ""), ct.Options{})
	e.WaitState("chaos", supervisor.StateRunning)
	c := e.Dial()
	long := make(chan error, 1)
	go func() {
		_, err := c.SendTask(context.Background(), sleepTask(time.Minute))
		long <- err
	}()
	ct.WaitUntil(t, "the long task to be in flight", 10*time.Second, func() bool { return e.Server.Stats().InFlight == 1 })
	e.StopServer() // fails the test if the server waits for the task
	select {
	case err := <-long:
		if err == nil {
			t.Fatal("the long task succeeded across the server's stop")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the client never learnt its connection ended")
	}
}
