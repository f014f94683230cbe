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

// TestHeartbeatsSpread: with many sessions the interval is split into
// ticks, each pinging its share, and over one interval's ticks every session
// is pinged exactly once, whatever the count.
func TestHeartbeatsSpread(t *testing.T) {
	for _, n := range []int{1, perSpread, perSpread + 1, 500, perSpread*maxSpread + 100} {
		b := &beat{sessions: map[*session]int{}}
		for range n {
			b.sessions[&session{}] = b.next
			b.next++
		}
		_, spread := b.due(0, nil)
		if want := spreadFor(n); spread != want || spread < 1 || spread > maxSpread {
			t.Fatalf("%d sessions: spread %d", n, spread)
		}
		pinged := map[*session]int{}
		most := 0
		for tick := range spread {
			due, _ := b.due(tick, nil)
			most = max(most, len(due))
			for _, s := range due {
				pinged[s]++
			}
		}
		for s := range b.sessions {
			if pinged[s] != 1 {
				t.Fatalf("%d sessions: one pinged %d times in an interval", n, pinged[s])
			}
		}
		if limit := max(perSpread, (n+maxSpread-1)/maxSpread); most > limit {
			t.Errorf("%d sessions: %d pinged on one tick, want at most %d", n, most, limit)
		}
	}
}
