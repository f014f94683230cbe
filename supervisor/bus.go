package supervisor

import (
	"sync"
	"sync/atomic"
	"time"
)

// bus fans events out to subscribers without ever waiting for one: a
// subscriber whose buffer is full loses the event, the loss is counted, and
// the next event it does receive is preceded by an EventDropped telling it how
// many it missed.
type bus struct {
	mu      sync.RWMutex
	subs    map[*subscriber]struct{}
	dropped atomic.Uint64 // every event lost by any subscriber, those gone included
}

type subscriber struct {
	ch      chan Event
	dropped atomic.Uint64  // lost since the last EventDropped was delivered
	total   *atomic.Uint64 // the bus's count of every loss
	mu      sync.Mutex     // serialises sends so a Dropped notice precedes what follows it
	closed  bool
}

func newBus() *bus { return &bus{subs: make(map[*subscriber]struct{})} }

// subscribe registers a subscriber with a bounded buffer.
func (b *bus) subscribe(buffer int) (<-chan Event, func()) {
	if buffer < 1 {
		buffer = 1
	}
	s := &subscriber{ch: make(chan Event, buffer), total: &b.dropped}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	cancel := func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, s)
			b.mu.Unlock()
			s.mu.Lock()
			s.closed = true
			close(s.ch)
			s.mu.Unlock()
		})
	}
	return s.ch, cancel
}

// publish delivers e to every subscriber that has room.
func (b *bus) publish(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	for s := range b.subs {
		s.deliver(e)
	}
}

func (s *subscriber) deliver(e Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if n := s.dropped.Load(); n > 0 {
		select {
		case s.ch <- Event{Type: EventDropped, Time: e.Time, Dropped: n}:
			s.dropped.Store(0)
		default:
			s.lose()
			return
		}
	}
	select {
	case s.ch <- e:
	default:
		s.lose()
	}
}

func (s *subscriber) lose() {
	s.dropped.Add(1)
	s.total.Add(1)
}

// droppedTotal is every event lost by any subscriber, for the header.
func (b *bus) droppedTotal() uint64 { return b.dropped.Load() }
