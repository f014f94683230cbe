package supervisor

import "testing"

// TestBusKeepsBeforeDelivering: a face that subscribes and then reads the
// history, between the bus storing an event and delivering it, has the
// event in one or the other. The hook subscribes before the event is
// stored, as such a face would just before the publisher reaches keep.
func TestBusKeepsBeforeDelivering(t *testing.T) {
	var b *bus
	var ch <-chan Event
	var stored []Event
	b = newBus(func() int64 { return 1 << 20 }, func(e Event) {
		if ch == nil {
			ch, _ = b.subscribe(8)
		}
		stored = append(stored, e)
	})
	b.publish(Event{Type: EventState, State: StateRunning})
	b.publishRecords(Event{Type: EventRecords}, 10)
	if len(ch) != 2 || len(stored) != 2 {
		t.Fatalf("subscriber has %d of 2 events, history %d: an event published as it subscribed is in neither", len(ch), len(stored))
	}
}
