package sdk_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/sdk"
	"github.com/plugvisor/plugvisor/sdk/sdktest"
)

const directSteps = 5

// stepsThenReply sends directSteps progress records, then its reply.
func stepsThenReply(_ context.Context, tk sdk.Task, s sdk.Sink) error {
	for i := range directSteps {
		if err := s.Progress(tk, sdk.Fields{"data_type": "step", "n": strconv.Itoa(i)}); err != nil {
			return err
		}
	}
	return s.Reply(tk, sdk.Fields{"data_type": "done"})
}

// checkSteps: the task's records arrived in the order they were sent, the
// reply after all its progress.
func checkSteps(t *testing.T, r sdktest.Reply) {
	t.Helper()
	if len(r.Progress) != directSteps {
		t.Fatalf("%d progress records before the reply, want %d", len(r.Progress), directSteps)
	}
	for i, p := range r.Progress {
		if p.Fields["n"] != strconv.Itoa(i) {
			t.Errorf("progress %d is step %s: out of order", i, p.Fields["n"])
		}
	}
	if r.Final.Fields["data_type"] != "done" || r.Status() != protocol.StatusOK {
		t.Errorf("reply = %v", r.Final.Fields)
	}
}

// With the connection free, a task's records are written by its worker as
// they are made: one frame each, in order, none through the writer's queue.
func TestTaskRecordsWrittenDirectlyWhenFree(t *testing.T) {
	sv := sdktest.New(t)
	sinks := make(chan sdk.Sink, 1)
	app := sdk.New("direct").
		OnRun(func(sink sdk.Sink, s *sdk.Session) error { sinks <- sink; s.Wait(); return nil }).
		Handle(1, stepsThenReply)
	// One worker: it marks the connection free before it takes the next
	// task, where a second worker could start while the first's last write
	// is still counted as under way, and rightly queue.
	sv.Start(app, sdk.WithMaxInFlight(1))
	c := sv.Connect()
	sink := <-sinks
	before := sink.Stats()
	for range 3 {
		checkSteps(t, c.WaitReply(c.Task(1, "")))
	}
	if err := sink.Flush(context.Background()); err != nil { // the last write's count lands after the supervisor has it
		t.Fatal(err)
	}
	st := sink.Stats()
	recs, frames := c.Records()
	if sent, batches := st.Sent-before.Sent, st.Batches-before.Batches; sent != 3*(directSteps+1) || batches != sent {
		t.Errorf("%d records in %d frames, want %d records one frame each", sent, batches, 3*(directSteps+1))
	}
	if len(recs) != frames {
		t.Errorf("the supervisor got %d records in %d frames", len(recs), frames)
	}
}

// With the writer busy (stuck in a send to a supervisor that stopped
// reading), a task's records queue behind the records before them and
// leave coalesced once the supervisor reads again, still in order.
func TestTaskRecordsQueueBehindABusyWriter(t *testing.T) {
	stop := make(chan struct{})
	c, done := stuckWriter(t, "fallback", stepsThenReply, stop)
	tok := c.Task(1, "")
	c.Resume()
	r := c.WaitReply(tok)
	close(stop) // Run stops flooding
	checkSteps(t, r)
	recs, frames := c.Records()
	if frames >= len(recs) {
		t.Errorf("%d records in %d frames: the queued ones were not coalesced", len(recs), frames)
	}
	c.Shutdown(10*time.Second, "done")
	c.WaitGoodbye()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

// stuckWriter runs a plugin that floods 60 KiB records from Run until stop
// closes (a nil stop: until shutdown) and answers task 1 with h, with a
// queue of 8 records, against a supervisor that stops reading; it returns
// once the plugin's writer is stuck on the full socket, with the queue full
// behind it.
func stuckWriter(t *testing.T, name string, h sdk.HandlerFunc, stop <-chan struct{}) (*sdktest.Conn, <-chan error) {
	t.Helper()
	sv := sdktest.New(t)
	const queue = 8
	sinks := make(chan sdk.Sink, 1)
	app := sdk.New(name).
		OnRun(func(sink sdk.Sink, s *sdk.Session) error {
			sinks <- sink
			big := strings.Repeat("b", 60<<10)
			for {
				select {
				case <-stop:
					s.Wait()
					return nil
				default:
				}
				if err := sink.Emit(sdk.Fields{"data_type": "big", "b": big}); err != nil {
					return nil // shutdown
				}
			}
		}).
		Handle(1, h)
	done := sv.Start(app, sdk.WithQueueSize(queue))
	c := sv.Accept()
	w := sdktest.DefaultWelcome()
	w.Heartbeat = 0 // no liveness deadline while the supervisor is paused
	c.Welcome(w)
	sink := <-sinks
	c.Pause()
	waitUntil(t, "the writer stuck on a full socket", writerStuck(sink, queue))
	return c, done
}
