package supervisor

import (
	"testing"
)

// A subscriber that stops reading loses events, never blocks the publisher,
// and is told how many it lost before the next event it receives.
func TestBusSlowSubscriberDropsAndIsTold(t *testing.T) {
	b := newBus()
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
	if n := b.droppedTotal(); n != 8 {
		t.Fatalf("droppedTotal %d", n)
	}
	cancelSlow()
	cancelSlow() // idempotent
	if _, ok := <-slow; ok {
		t.Fatal("channel open after cancel")
	}
	b.publish(Event{Type: EventLog}) // no panic on a cancelled subscriber
}
