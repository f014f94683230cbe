package control

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
)

// The client's read loop hands every event of a subscription to deliver, so
// its cost per event bounds a remote console's throughput.

func BenchmarkSubscriptionDeliverDrained(b *testing.B) {
	var total atomic.Uint64
	sub := newBenchSubscription(4096, &total)
	go func() {
		for range sub.ch {
		}
	}()
	defer sub.close()
	ev := supervisor.Event{Type: supervisor.EventLog, Time: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		sub.deliver(ev, &total)
	}
}

func BenchmarkSubscriptionDeliverFull(b *testing.B) {
	var total atomic.Uint64
	sub := newBenchSubscription(16, &total) // never read: every event is a loss
	defer sub.close()
	ev := supervisor.Event{Type: supervisor.EventLog, Time: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		sub.deliver(ev, &total)
	}
}

func newBenchSubscription(buffer int, _ *atomic.Uint64) *subscription {
	return &subscription{ch: make(chan supervisor.Event, buffer)}
}
