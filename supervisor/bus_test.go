package supervisor

import (
	"strings"
	"testing"
)

// A subscriber that stops reading loses events, never blocks the publisher,
// and is told how many it lost before the next event it receives.
func TestBusSlowSubscriberDropsAndIsTold(t *testing.T) {
	b := newBus(func() int64 { return 16 << 20 }, nil)
	slow, cancelSlow := b.subscribe(2)
	fast, cancelFast := b.subscribe(100)
	defer cancelFast()
	for i := range 10 {
		b.publish(Event{Type: EventLog, Log: LogLine{Text: string(rune('a' + i))}})
	}
	if got := len(fast); got != 10 {
		t.Fatalf("fast subscriber got %d of 10", got)
	}
	if e := <-slow; e.Log.Text != "a" {
		t.Fatalf("first kept event %+v", e)
	}
	if e := <-slow; e.Log.Text != "b" {
		t.Fatalf("second kept event %+v", e)
	}
	b.publish(Event{Type: EventLog, Log: LogLine{Text: "after"}})
	if e := <-slow; e.Type != EventDropped || e.Dropped != 8 {
		t.Fatalf("want a dropped notice of 8, got %+v", e)
	}
	if e := <-slow; e.Log.Text != "after" {
		t.Fatalf("event after the notice %+v", e)
	}
	if n, _ := b.droppedTotal(); n != 8 {
		t.Fatalf("droppedTotal %d", n)
	}
	cancelSlow()
	cancelSlow() // idempotent
	if _, ok := <-slow; ok {
		t.Fatal("channel open after cancel")
	}
	b.publish(Event{Type: EventLog}) // no panic on a cancelled subscriber
}

// TestBusSubscriberBudgetInBytes: a subscriber that does not read holds at
// most its byte budget of events, however large they are; the rest are
// counted with their size.
func TestBusSubscriberBudgetInBytes(t *testing.T) {
	const budget = 1 << 20
	b := newBus(func() int64 { return budget }, nil)
	ch, cancel := b.subscribe(4096)
	defer cancel()
	big := Event{Type: EventLog, Log: LogLine{Text: strings.Repeat("x", 64<<10)}}
	for range 100 { // 6.4 MiB offered
		b.publish(big)
	}
	var held int64
	for n := len(ch); n > 0; n-- {
		if ev := <-ch; ev.Type != EventDropped {
			held += ev.Size()
		}
	}
	if held > budget {
		t.Fatalf("held %d bytes over a budget of %d", held, budget)
	}
	events, bytes := b.droppedTotal()
	if events == 0 || int64(bytes) < int64(events)*big.Size() {
		t.Fatalf("dropped %d events, %d bytes", events, bytes)
	}
}
