package control

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
)

// call performs one request against the API.
func (c *conn) call(ctx context.Context, req *Request) (any, error) {
	api := c.srv.API
	if needsName(req.Op) && req.Name == "" {
		return nil, &Error{Code: CodeBadRequest, Message: fmt.Sprintf("%s: name is required", req.Op)}
	}
	if req.Timeout < 0 {
		return nil, &Error{Code: CodeBadRequest, Message: fmt.Sprintf("%s: timeout %d is negative", req.Op, req.Timeout)}
	}
	switch req.Op {
	case OpInfo:
		return api.Info(), nil
	case OpSnapshot:
		return api.Snapshot(), nil
	case OpStart:
		return nil, api.Start(req.Name)
	case OpStop:
		return nil, api.Stop(req.Name)
	case OpRestart:
		return nil, api.Restart(req.Name)
	case OpReload:
		return nil, api.Reload()
	case OpSendTask:
		ctx, cancel := withTimeout(ctx, req.Timeout)
		defer cancel()
		r, err := api.SendTask(ctx, req.Name, req.TaskID, req.Content)
		return &r, err
	case OpPing:
		ctx, cancel := withTimeout(ctx, req.Timeout)
		defer cancel()
		rtt, err := api.Ping(ctx, req.Name)
		return &PingResult{RTT: rtt}, err
	case OpLogs:
		return api.Logs(req.Name, req.N)
	}
	return nil, &Error{Code: CodeUnknownOp, Message: fmt.Sprintf("unknown op %q", req.Op)}
}

func needsName(op Op) bool {
	switch op {
	case OpStart, OpStop, OpRestart, OpSendTask, OpPing, OpLogs:
		return true
	}
	return false
}

// withTimeout applies the caller's deadline, sent as a duration because the
// two ends' clocks need not agree.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

// subscribe answers the request, then forwards events until the client
// cancels it or the connection ends. The API's bounded channel absorbs a slow
// client: the bus drops what does not fit and says so with EventDropped.
func (c *conn) subscribe(ctx context.Context, req *Request) {
	buffer := req.Buffer
	switch {
	case buffer <= 0:
		buffer = DefaultEventBuffer
	case buffer > maxEventBuffer:
		buffer = maxEventBuffer
	}
	events, unsubscribe := c.srv.API.Subscribe(buffer)
	defer unsubscribe()
	c.srv.subs.Add(1)
	defer c.srv.subs.Add(-1)
	defer c.done(req.ID)
	defer c.w.flush() // events sent with more=true must not wait for a stranger's frame
	c.respond(req.ID, nil, nil)
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			// While more events wait, the flush waits for them too: a burst
			// costs one write.
			if err := c.forward(req.ID, &ev, len(events) > 0); err != nil {
				return
			}
		}
	}
}

// forward sends one event; one too large for a frame is replaced by the
// notice that it was dropped.
func (c *conn) forward(id uint64, ev *supervisor.Event, more bool) error {
	err := c.w.send(&EventFrame{Kind: KindEvent, ID: id, Event: ev}, more)
	if errors.Is(err, errFrameTooLarge) {
		c.log.Warn("control event too large for a frame; dropped", "type", ev.Type, "instance", ev.Instance, "err", err)
		drop := &supervisor.Event{Type: supervisor.EventDropped, Time: ev.Time, Dropped: 1}
		err = c.w.send(&EventFrame{Kind: KindEvent, ID: id, Event: drop}, more)
	}
	return err
}
