// Package ratelimit bounds how often something is said: at most a burst per
// window, then silence with a count, so that a flood of log lines from a
// plugin or of refusals from a hostile peer costs a line a window, not a
// line an event.
package ratelimit

import (
	"sync"
	"time"
)

// Limiter allows up to burst events per window. Safe for concurrent use.
type Limiter struct {
	burst int
	per   time.Duration

	mu         sync.Mutex
	start      time.Time // of the current window
	n          int       // allowed in the current window
	suppressed int       // held back since the last allowed event
}

// New returns a limiter of burst events per window.
func New(burst int, per time.Duration) *Limiter {
	return &Limiter{burst: max(burst, 1), per: per}
}

// Allow reports whether an event at now may be said. When it may, held is
// how many were held back since the last one that was: the caller says that
// too ("… and 1234 more").
func (l *Limiter) Allow(now time.Time) (ok bool, held int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= l.per || now.Before(l.start) {
		l.start, l.n = now, 0
	}
	if l.n >= l.burst {
		l.suppressed++
		return false, 0
	}
	l.n++
	held, l.suppressed = l.suppressed, 0
	return true, held
}

// Held is how many events are being held back now, for a caller that
// reports them at its own end.
func (l *Limiter) Held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.suppressed
}
