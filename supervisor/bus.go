package supervisor

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugvisor/plugvisor/internal/lossy"
)

// bus fans events out to subscribers without ever waiting for one: a
// subscriber whose buffer is full, in events or in bytes, loses the event,
// the loss is counted, and the next event it does receive is preceded by an
// EventDropped telling it how many it missed.
//
// Publishing is the hot path (every record batch of every plugin), and
// subscribing is rare, so the subscribers are a list replaced whole when
// one comes or goes: a publisher reads it with one atomic load and takes
// no lock of the bus, only each subscriber's own.
type bus struct {
	mu      sync.Mutex                    // serialises changes to subs, and droppedTotal with them
	subs    atomic.Pointer[[]*subscriber] // never modified in place
	budget  func() int64                  // bytes one subscriber may have queued (agent.subscriber_buffer)
	dropped atomic.Uint64                 // every event lost by any subscriber, those gone included
	bytes   atomic.Uint64                 // their estimated size, those of subscribers gone included
	keep    func(Event)                   // the history, told of every event before the subscribers; may be nil
	seq     atomic.Uint64                 // the last sequence number stamped
}

func newBus(budget func() int64, keep func(Event)) *bus {
	b := &bus{budget: budget, keep: keep}
	b.subs.Store(&[]*subscriber{})
	return b
}

// subscriber is one subscription: its queue, and the event types it left
// out (nil: none), which are never queued for it, so they neither wake it
// nor take its room.
type subscriber struct {
	q    *lossy.Queue[Event]
	skip map[EventType]bool
}

func eventSize(e Event) int64 { return e.Size() }

// droppedNotice tells a subscriber it lost n events before next.
func droppedNotice(n uint64, next Event) Event {
	return Event{Type: EventDropped, Time: next.Time, Dropped: n}
}

// subscribe registers a subscriber with a bounded buffer, which is sent no
// event of a type in skip.
func (b *bus) subscribe(buffer int, skip ...EventType) (<-chan Event, func()) {
	s := lossy.New(buffer, &b.dropped, droppedNotice).WithBudget(b.budget(), eventSize)
	sub := &subscriber{q: s}
	for _, t := range skip {
		if sub.skip == nil {
			sub.skip = map[EventType]bool{}
		}
		sub.skip[t] = true
	}
	b.mu.Lock()
	b.subs.Store(new(append(slices.Clone(*b.subs.Load()), sub)))
	b.mu.Unlock()
	var once sync.Once
	cancel := func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.subs.Store(new(slices.DeleteFunc(slices.Clone(*b.subs.Load()), func(o *subscriber) bool { return o == sub })))
			// Closed first: a publisher still holding the old list may
			// yet Send to s, and a closed queue ignores it, so the bytes
			// s lost are final when they move to the bus's count. Under
			// mu: droppedTotal must never see the count go down.
			s.Close()
			b.bytes.Add(s.LostBytes())
		})
	}
	return s.C(), cancel
}

// publish delivers e to the history and to every subscriber that has room.
// The history is told first, so a face that subscribed and then read the
// history misses nothing between the two.
//
// The subscribers are read after keep: one that came between the two
// finds the event in the history it reads next, or on its channel.
func (b *bus) publish(e Event) {
	if b.keep == nil && len(*b.subs.Load()) == 0 {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.size = e.measure()
	b.stamp(&e)
	if b.keep != nil {
		b.keep(e) // by value: a pointer would move every event to the heap
	}
	deliver(*b.subs.Load(), e)
}

// publishRecords publishes a records event whose records were decoded from
// a frame of payload bytes, sized from the frame (recordsEventSize) rather
// than by walking every record's fields.
func (b *bus) publishRecords(e Event, payload int) {
	if b.keep == nil && len(*b.subs.Load()) == 0 {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.size = recordsEventSize(&e, payload)
	b.stamp(&e)
	if b.keep != nil {
		b.keep(e)
	}
	deliver(*b.subs.Load(), e)
}

// stamp gives e the bus's next sequence number: History orders by it, as
// times of events published at once may tie.
func (b *bus) stamp(e *Event) { e.seq = b.seq.Add(1) }

func deliver(subs []*subscriber, e Event) {
	for _, s := range subs {
		if s.skip == nil || !s.skip[e.Type] {
			s.q.Send(e)
		}
	}
}

// droppedTotal is every event lost by any subscriber, for the header, and
// their estimated bytes.
func (b *bus) droppedTotal() (events, bytes uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	bytes = b.bytes.Load()
	for _, s := range *b.subs.Load() {
		bytes += s.q.LostBytes()
	}
	return b.dropped.Load(), bytes
}
