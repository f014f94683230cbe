package supervisor

import (
	"sync"
	"time"
)

// heartbeats sends every session's pings from one ticker per heartbeat
// interval instead of a ticker per session: an idle supervisor with
// hundreds of plugins wakes a few times an interval for all of their pings,
// not once per plugin, at times of their own. The sessions are spread over
// up to maxSpread ticks of each interval, perSpread a tick at the least, so
// that five hundred pings and their pongs do not all meet at one instant (a
// heartbeat's round trip would then measure the queue, not the plugin).
// Each session still writes its own ping from its own goroutine, so a
// plugin whose socket is full delays nobody else's.
type heartbeats struct {
	mu sync.Mutex
	by map[time.Duration]*beat
}

const (
	maxSpread = 16 // ticks an interval, at most
	perSpread = 32 // sessions a tick before the interval is split further
)

// beat is the ticker of one interval and the sessions it pings, each with
// its slot: a session is pinged on the ticks whose number is its slot
// modulo the spread, once an interval whatever the spread.
type beat struct {
	sessions map[*session]int
	next     int // the slot of the next session to join
	stop     chan struct{}
}

func newHeartbeats() *heartbeats { return &heartbeats{by: map[time.Duration]*beat{}} }

// join has s told, on its pingDue channel, once every interval, until
// leave. The last session of an interval to leave stops its ticker.
func (h *heartbeats) join(s *session, every time.Duration) (leave func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b := h.by[every]
	if b == nil {
		b = &beat{sessions: map[*session]int{}, stop: make(chan struct{})}
		h.by[every] = b
		go h.tick(b, every)
	}
	b.sessions[s] = b.next
	b.next++
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(b.sessions, s)
		if len(b.sessions) == 0 && h.by[every] == b {
			delete(h.by, every)
			close(b.stop)
		}
	}
}

// spreadFor is how many ticks an interval has for n sessions.
func spreadFor(n int) int { return min(max((n+perSpread-1)/perSpread, 1), maxSpread) }

// due appends the sessions to ping on tick number tick, and says how many
// ticks the interval has now. Call it with h.mu held.
func (b *beat) due(tick int, into []*session) ([]*session, int) {
	spread := spreadFor(len(b.sessions))
	for s, slot := range b.sessions {
		if slot%spread == tick%spread {
			into = append(into, s)
		}
	}
	return into, spread
}

func (h *heartbeats) tick(b *beat, every time.Duration) {
	h.mu.Lock()
	_, spread := b.due(0, nil)
	h.mu.Unlock()
	t := time.NewTimer(every / time.Duration(spread))
	defer t.Stop()
	var due []*session
	for tick := 0; ; tick++ {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		h.mu.Lock()
		due, spread = b.due(tick, due[:0])
		h.mu.Unlock()
		t.Reset(every / time.Duration(spread))
		for _, s := range due {
			select {
			case s.pingDue <- struct{}{}:
			default: // its last ping is still being written: one is enough
			}
		}
		clear(due)
	}
}
