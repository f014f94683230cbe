package ratelimit_test

import (
	"sync"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/ratelimit"
)

func TestBurstThenHeldCount(t *testing.T) {
	l := ratelimit.New(3, time.Second)
	t0 := time.Unix(1000, 0)
	for i := range 3 {
		if ok, held := l.Allow(t0.Add(time.Duration(i) * time.Millisecond)); !ok || held != 0 {
			t.Fatalf("event %d: %v %d", i, ok, held)
		}
	}
	for i := range 10 {
		if ok, _ := l.Allow(t0.Add(500 * time.Millisecond)); ok {
			t.Fatalf("event %d beyond the burst allowed", i)
		}
	}
	if l.Held() != 10 {
		t.Fatalf("held %d", l.Held())
	}
	// The next window: allowed, with the count of what was held.
	if ok, held := l.Allow(t0.Add(time.Second)); !ok || held != 10 {
		t.Fatalf("next window: %v %d", ok, held)
	}
	if ok, held := l.Allow(t0.Add(time.Second + time.Millisecond)); !ok || held != 0 {
		t.Fatalf("count said twice: %v %d", ok, held)
	}
	// A clock that steps back starts a window rather than stalling.
	if ok, _ := l.Allow(t0); !ok {
		t.Fatal("a clock stepped back stalled the limiter")
	}
}

func TestConcurrentAllowCountsEveryEvent(t *testing.T) {
	l := ratelimit.New(5, time.Hour)
	now := time.Now()
	var mu sync.Mutex
	allowed := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if ok, _ := l.Allow(now); ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != 5 || l.Held() != 795 {
		t.Fatalf("allowed %d, held %d", allowed, l.Held())
	}
}
