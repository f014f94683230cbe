package control

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
)

// Subscribe implements supervisor.API: events stream from the server into a
// channel of buffer events. It returns once the server has accepted the
// subscription, or with why it did not. The reader never waits for a
// subscriber: one that falls behind loses events, counted, and the next event
// it receives is an EventDropped saying how many (the server's own drops
// arrive the same way). The channel closes on cancel, when ctx ends, or when
// the connection ends. The server queues at most MaxEventBuffer events for it;
// a larger buffer is this client's own queue.
func (c *Client) Subscribe(ctx context.Context, buffer int) (<-chan supervisor.Event, func(), error) {
	sub := &subscription{ch: make(chan supervisor.Event, max(buffer, 1))}
	id := c.nextID.Add(1)
	// The response resolves a pending call under the same id; events
	// that follow it go to the subscription.
	p := &pending{done: make(chan error, 1)}
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, nil, err
	}
	c.subs[id], c.calls[id] = sub, p
	c.mu.Unlock()
	var once sync.Once
	cancel := func() {
		once.Do(func() {
			if c.unsubscribe(id) {
				_ = c.w.send(&Request{Kind: KindCancel, ID: id}, false)
			}
		})
	}
	if err := c.w.send(&Request{Kind: KindRequest, ID: id, Op: OpSubscribe, Buffer: min(buffer, MaxEventBuffer)}, false); err != nil {
		c.forget(id)
		c.unsubscribe(id)
		return nil, nil, c.sendError(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			c.unsubscribe(id)
			return nil, nil, fmt.Errorf("subscribe: %w", err)
		}
	case <-ctx.Done():
		c.forget(id)
		cancel()
		return nil, nil, ctx.Err()
	case <-c.done:
		c.unsubscribe(id)
		return nil, nil, c.Err()
	}
	stop := context.AfterFunc(ctx, cancel)
	return sub.ch, func() { stop(); cancel() }, nil
}

// unsubscribe closes subscription id and reports whether it was open.
func (c *Client) unsubscribe(id uint64) bool {
	c.mu.Lock()
	sub := c.subs[id]
	delete(c.subs, id)
	c.mu.Unlock()
	if sub != nil {
		sub.close()
	}
	return sub != nil
}

type subscription struct {
	mu      sync.Mutex // orders a Dropped notice before what follows it
	ch      chan supervisor.Event
	dropped uint64 // lost since the last notice was delivered
	closed  bool
}

func (s *subscription) deliver(ev supervisor.Event, total *atomic.Uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return
	case ev.Type == supervisor.EventDropped:
		// The server's losses and ours make one notice.
		s.dropped += ev.Dropped
		s.notify(ev.Time)
		return
	case s.dropped > 0 && !s.notify(ev.Time):
		s.lose(total)
		return
	}
	select {
	case s.ch <- ev:
	default:
		s.lose(total)
	}
}

// notify delivers the count of lost events if there is room.
func (s *subscription) notify(t time.Time) bool {
	select {
	case s.ch <- supervisor.Event{Type: supervisor.EventDropped, Time: t, Dropped: s.dropped}:
		s.dropped = 0
		return true
	default:
		return false
	}
}

func (s *subscription) lose(total *atomic.Uint64) {
	s.dropped++
	total.Add(1)
}

func (s *subscription) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
}
