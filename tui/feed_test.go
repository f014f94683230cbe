package tui

import (
	"testing"

	"github.com/plugvisor/plugvisor/supervisor"
)

// TestFeedQueueIsBounded pushes into a feed nobody takes from: log events
// stop at the soft bound, state and task events at the hard one, and every
// event turned away is counted.
func TestFeedQueueIsBounded(t *testing.T) {
	f := newFeed()
	for range maxPending + 100 {
		f.push(supervisor.Event{Type: supervisor.EventLog})
	}
	if len(f.pending) != maxPending || f.dropped != 100 {
		t.Fatalf("after logs: %d pending, %d dropped", len(f.pending), f.dropped)
	}
	extra := 50
	for i := range maxPendingAll - maxPending + extra {
		typ := supervisor.EventState
		if i%2 == 1 {
			typ = supervisor.EventTask
		}
		f.push(supervisor.Event{Type: typ})
	}
	batch, dropped, states := f.take()
	if len(batch) != maxPendingAll || dropped != uint64(100+extra) || !states {
		t.Fatalf("took %d events, %d dropped (states %v); want %d, %d, true", len(batch), dropped, states, maxPendingAll, 100+extra)
	}
	if batch, dropped, states := f.take(); len(batch) != 0 || dropped != 0 || states {
		t.Fatalf("second take: %d events, %d dropped, states %v", len(batch), dropped, states)
	}
}
