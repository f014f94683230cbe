package sdk

import (
	"context"
	"sync/atomic"
	"time"
)

// Session is one connection's life as the plugin sees it: who it is, who
// supervises it, and whether it is time to stop. Its methods are safe for
// concurrent use.
type Session struct {
	ctx    context.Context
	cancel context.CancelFunc

	name, instance, supervisor string
	heartbeat                  time.Duration
	standalone                 bool
	rtt                        atomic.Int64
}

func newSession(parent context.Context, name, instance string) *Session {
	// Values pass through, cancellation does not: the runner decides when the
	// session ends so that it can say goodbye first.
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	return &Session{ctx: ctx, cancel: cancel, name: name, instance: instance}
}

// Context is cancelled when shutdown begins.
func (s *Session) Context() context.Context { return s.ctx }

// Done is closed when shutdown begins.
func (s *Session) Done() <-chan struct{} { return s.ctx.Done() }

// Wait blocks until shutdown begins.
func (s *Session) Wait() { <-s.ctx.Done() }

// ShuttingDown reports whether shutdown has begun.
func (s *Session) ShuttingDown() bool { return s.ctx.Err() != nil }

// Sleep waits for d or until shutdown begins, and reports whether it slept
// the full d.
func (s *Session) Sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// Name is the plugin's registry name (or Info.Name when standalone).
func (s *Session) Name() string { return s.name }

// Instance is the instance id the supervisor gave this process.
func (s *Session) Instance() string { return s.instance }

// Supervisor is the supervisor's name from its welcome; empty standalone.
func (s *Session) Supervisor() string { return s.supervisor }

// Heartbeat is the ping interval agreed in the welcome; 0 when standalone or
// when the supervisor disabled heartbeats.
func (s *Session) Heartbeat() time.Duration { return s.heartbeat }

// RTT is the round trip of the last answered heartbeat ping the SDK sent; 0
// before one. The SDK pings only when the supervisor has been silent for
// one and a half heartbeats (it answers the supervisor's pings otherwise),
// so with a supervisor that pings on time it may stay 0.
func (s *Session) RTT() time.Duration { return time.Duration(s.rtt.Load()) }

// Standalone reports whether the plugin runs without a supervisor.
func (s *Session) Standalone() bool { return s.standalone }

func (s *Session) setRTT(d time.Duration) { s.rtt.Store(int64(d)) }
