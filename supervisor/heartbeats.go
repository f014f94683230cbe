package supervisor

import (
	"sync"
	"time"
)

// heartbeats sends every session's pings from one ticker per heartbeat
// interval instead of a ticker per session: an idle supervisor with
// hundreds of plugins wakes once an interval for all of their pings, not
// once per plugin, at times of their own, through the interval. Each
// session still writes its own ping from its own goroutine, so a plugin
// whose socket is full delays nobody else's.
type heartbeats struct {
	mu sync.Mutex
	by map[time.Duration]*beat
}

// beat is the ticker of one interval and the sessions it pings.
type beat struct {
	sessions map[*session]struct{}
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
		b = &beat{sessions: map[*session]struct{}{}, stop: make(chan struct{})}
		h.by[every] = b
		go h.tick(b, every)
	}
	b.sessions[s] = struct{}{}
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

func (h *heartbeats) tick(b *beat, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	var due []*session
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		h.mu.Lock()
		due = due[:0]
		for s := range b.sessions {
			due = append(due, s)
		}
		h.mu.Unlock()
		for _, s := range due {
			select {
			case s.pingDue <- struct{}{}:
			default: // its last ping is still being written: one is enough
			}
		}
		clear(due)
	}
}
