package supervisor_test

import (
	"context"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// TestSubscribeWithout: a subscription that leaves heartbeats out is sent
// none, while one beside it has them, and it still has every other kind
// (here the state changes of a restart).
func TestSubscribeWithout(t *testing.T) {
	h := startHarness(t, plugin(t, "echo", supervisortest.Bin("echo"), ""))
	h.WaitState("echo", supervisor.StateRunning)
	var _ supervisor.SkippingSubscriber = h.Sup
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	all, stopAll, err := h.Sup.Subscribe(ctx, 1024)
	if err != nil {
		t.Fatal(err)
	}
	defer stopAll()
	some, stopSome, err := h.Sup.SubscribeWithout(ctx, 1024, supervisor.EventHeartbeat)
	if err != nil {
		t.Fatal(err)
	}
	defer stopSome()
	for beats := 0; beats < 2; {
		select {
		case e := <-all:
			if e.Type == supervisor.EventHeartbeat {
				beats++
			}
		case <-ctx.Done():
			t.Fatal("no heartbeats on the full subscription")
		}
	}
	if err := h.Sup.Restart(ctx, "echo"); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case e := <-some:
			switch e.Type {
			case supervisor.EventHeartbeat:
				t.Fatal("a heartbeat reached the subscription that left them out")
			case supervisor.EventState:
				if e.State == supervisor.StateRunning {
					return // the restart came through, and no heartbeat before it
				}
			}
		case <-ctx.Done():
			t.Fatal("the restart's state changes did not reach the subscription without heartbeats")
		}
	}
}
