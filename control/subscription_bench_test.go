package control

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/lossy"
	"github.com/plugvisor/plugvisor/supervisor"
)

// The client's read loop hands every event of a subscription to deliver, so
// its cost per event bounds a remote console's throughput.

func BenchmarkSubscriptionDeliverDrained(b *testing.B) {
	var total atomic.Uint64
	sub := lossy.New(4096, &total, droppedNotice)
	go func() {
		for range sub.C() {
		}
	}()
	defer sub.Close()
	ev := supervisor.Event{Type: supervisor.EventLog, Time: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		deliver(sub, ev)
	}
}

func BenchmarkSubscriptionDeliverFull(b *testing.B) {
	var total atomic.Uint64
	sub := lossy.New(16, &total, droppedNotice) // never read: every event is a loss
	defer sub.Close()
	ev := supervisor.Event{Type: supervisor.EventLog, Time: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		deliver(sub, ev)
	}
}
