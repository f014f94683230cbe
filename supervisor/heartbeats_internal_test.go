package supervisor

import (
	"testing"
	"time"
)

// TestHeartbeatsOneTickerForAll: sessions of one interval are told to ping
// by one ticker, each on its own channel; a session whose last ping is not
// taken yet is skipped, not waited for; when the last leaves, the ticker
// stops, and a session joining later gets a new one.
func TestHeartbeatsOneTickerForAll(t *testing.T) {
	h := newHeartbeats()
	const every = 5 * time.Millisecond
	var sessions [3]*session
	var leaves [3]func()
	for i := range sessions {
		sessions[i] = &session{pingDue: make(chan struct{}, 1)}
		leaves[i] = h.join(sessions[i], every)
	}
	if len(h.by) != 1 {
		t.Fatalf("%d tickers for one interval", len(h.by))
	}
	for round := range 3 {
		for i, s := range sessions {
			if i == 2 && round > 0 {
				continue // never takes its ping: the ticker must not wait for it
			}
			select {
			case <-s.pingDue:
			case <-time.After(time.Minute): // bounds a hung test only
				t.Fatalf("round %d: session %d never told to ping", round, i)
			}
		}
	}
	for _, leave := range leaves {
		leave()
	}
	h.mu.Lock()
	n := len(h.by)
	h.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d tickers left with no session", n)
	}
	late := &session{pingDue: make(chan struct{}, 1)}
	defer h.join(late, every)()
	select {
	case <-late.pingDue:
	case <-time.After(time.Minute):
		t.Fatal("a session joining after the others left is never told to ping")
	}
}
