package supervisor

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugvisor/plugvisor/internal/lossy"
)

// bus fans events out to subscribers without ever waiting for one: a
// subscriber whose buffer is full loses the event, the loss is counted, and
// the next event it does receive is preceded by an EventDropped telling it how
// many it missed.
type bus struct {
	mu      sync.RWMutex
	subs    map[*lossy.Queue[Event]]struct{}
	dropped atomic.Uint64 // every event lost by any subscriber, those gone included
}

func newBus() *bus { return &bus{subs: make(map[*lossy.Queue[Event]]struct{})} }

// droppedNotice tells a subscriber it lost n events before next.
func droppedNotice(n uint64, next Event) Event {
	return Event{Type: EventDropped, Time: next.Time, Dropped: n}
}

// subscribe registers a subscriber with a bounded buffer.
func (b *bus) subscribe(buffer int) (<-chan Event, func()) {
	s := lossy.New(buffer, &b.dropped, droppedNotice)
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	cancel := func() {
		once.Do(func() {
			b.mu.Lock()
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
	b.mu.RLock()
	defer b.mu.RUnlock()
	for s := range b.subs {
		s.Send(e)
	}
}

// droppedTotal is every event lost by any subscriber, for the header.
func (b *bus) droppedTotal() uint64 { return b.dropped.Load() }
