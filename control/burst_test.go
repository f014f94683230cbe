package control_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	ct "github.com/plugvisor/plugvisor/control/controltest"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor"
)

// TestSubscriptionBurstBeyondPending: a subscription forwarding a backlog
// sends every event with more=true; once more than the writer's bound on
// pending bytes (1 MiB) is queued, the writer must still be woken, or the
// subscription and every other sender on the connection wait forever. The
// burst here is about 3.5 MiB, already in the subscription's channel when
// it starts (which the real bus produces only under load, so a fake API
// stands in).
func TestSubscriptionBurstBeyondPending(t *testing.T) {
	const burst = 3000
	socket, _ := ct.ServeAPI(t, &fakeAPI{burst: recordsBurst(burst, 10)}, nil)
	c := ct.DialSocket(t, socket)
	events, cancel, _ := c.Subscribe(context.Background(), burst+16)
	defer cancel()
	var got, dropped atomic.Int64
	go func() {
		for ev := range events {
			if ev.Type == supervisor.EventDropped {
				dropped.Add(int64(ev.Dropped))
				continue
			}
			got.Add(1)
		}
	}()
	waitFor := func(n int64) {
		t.Helper()
		if !testutil.Until(20*time.Second, func() bool { return got.Load() >= n }) {
			t.Fatalf("the subscription delivered %d of %d events, then nothing for 20s (%d dropped)", got.Load(), burst, dropped.Load())
		}
	}
	waitFor(burst / 3) // past the first MiB
	// Meanwhile another request on the same connection is answered.
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if snap, err := c.Snapshot(ctx); err != nil || len(snap) != 1 {
		t.Fatalf("snapshot during the burst: %v %v", snap, err)
	}
	waitFor(burst)
	if d := dropped.Load(); d != 0 {
		t.Fatalf("%d events dropped", d)
	}
}
