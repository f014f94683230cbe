package supervisor

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugvisor/plugvisor/internal/lossy"
)

// bus fans events out to subscribers without ever waiting for one: a
// subscriber whose buffer is full, in events or in bytes, loses the event,
// the loss is counted, and the next event it does receive is preceded by an
// EventDropped telling it how many it missed.
type bus struct {
	mu      sync.RWMutex
	subs    map[*lossy.Queue[Event]]struct{}
	budget  func() int64  // bytes one subscriber may have queued (agent.subscriber_buffer)
	dropped atomic.Uint64 // every event lost by any subscriber, those gone included
	bytes   atomic.Uint64 // their estimated size, those of subscribers gone included
}

func newBus(budget func() int64) *bus {
	return &bus{subs: make(map[*lossy.Queue[Event]]struct{}), budget: budget}
}

func eventSize(e Event) int64 { return e.Size() }

// droppedNotice tells a subscriber it lost n events before next.
func droppedNotice(n uint64, next Event) Event {
	return Event{Type: EventDropped, Time: next.Time, Dropped: n}
}

// subscribe registers a subscriber with a bounded buffer.
func (b *bus) subscribe(buffer int) (<-chan Event, func()) {
	s := lossy.New(buffer, &b.dropped, droppedNotice).WithBudget(b.budget(), eventSize)
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	cancel := func() {
		once.Do(func() {
			b.mu.Lock()
			b.bytes.Add(s.LostBytes()) // under the lock: droppedTotal must never see the count go down
			delete(b.subs, s)
			b.mu.Unlock()
			s.Close()
		})
	}
	return s.C(), cancel
}

// publish delivers e to every subscriber that has room.
func (b *bus) publish(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.size = e.measure()
	b.mu.RLock()
	defer b.mu.RUnlock()
	for s := range b.subs {
		s.Send(e)
	}
}

// droppedTotal is every event lost by any subscriber, for the header, and
// their estimated bytes.
func (b *bus) droppedTotal() (events, bytes uint64) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	bytes = b.bytes.Load()
	for s := range b.subs {
		bytes += s.LostBytes()
	}
	return b.dropped.Load(), bytes
}
