package control

import (
	"context"
	"fmt"
	"sync"

	"github.com/plugvisor/plugvisor/internal/lossy"
	"github.com/plugvisor/plugvisor/supervisor"
)

// Subscribe implements supervisor.API: events stream from the server into a
// channel of buffer events. It returns once the server has accepted the
// subscription, or with why it did not. The reader never waits for a
// subscriber: one that falls behind loses events, counted, and the next event
// it receives is an EventDropped saying how many (the server's own drops
// arrive the same way). The channel closes on cancel, when ctx ends, or when
// the connection ends. The server queues at most MaxEventBuffer events for it;
// a larger buffer is this client's own queue, bounded in bytes as well by
// ClientEventBytes.
func (c *Client) Subscribe(ctx context.Context, buffer int) (<-chan supervisor.Event, func(), error) {
	sub := lossy.New(buffer, &c.dropped, droppedNotice).WithBudget(ClientEventBytes, eventSize)
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
	return sub.C(), func() { stop(); cancel() }, nil
}

// unsubscribe closes subscription id and reports whether it was open.
func (c *Client) unsubscribe(id uint64) bool {
	c.mu.Lock()
	sub := c.subs[id]
	delete(c.subs, id)
	c.mu.Unlock()
	if sub != nil {
		sub.Close()
	}
	return sub != nil
}

// subscription carries one Subscribe's events from the read loop, which
// must never wait for a caller, to that caller.
type subscription = lossy.Queue[supervisor.Event]

// ClientEventBytes bounds the events a client's subscription queues, by
// their estimated size: a console or ctl that falls behind loses events
// rather than its memory.
const ClientEventBytes = 16 << 20

func eventSize(e supervisor.Event) int64 { return e.Size() }

func droppedNotice(n uint64, next supervisor.Event) supervisor.Event {
	return supervisor.Event{Type: supervisor.EventDropped, Time: next.Time, Dropped: n}
}

// deliver hands ev to sub. The server's own drops arrive as EventDropped;
// they join ours in one notice rather than being passed on as an event
// that could itself be lost.
func deliver(sub *subscription, ev supervisor.Event) {
	if ev.Type == supervisor.EventDropped {
		sub.Lost(ev.Dropped, ev)
		return
	}
	sub.Send(ev)
}
