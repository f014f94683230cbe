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
		return api.Info(ctx)
	case OpSnapshot:
		return api.Snapshot(ctx)
	case OpStart:
		return nil, api.Start(ctx, req.Name)
	case OpStop:
		return nil, api.Stop(ctx, req.Name)
	case OpRestart:
		return nil, api.Restart(ctx, req.Name)
	case OpReload:
		return nil, api.Reload(ctx)
	case OpSendTask:
		ctx, cancel := withTimeout(ctx, req.Timeout)
		defer cancel()
		r, err := api.SendTask(ctx, supervisor.TaskRequest{Plugin: req.Name, ID: req.TaskID, Content: req.Content, Token: req.Token})
		return &r, err
	case OpPing:
		ctx, cancel := withTimeout(ctx, req.Timeout)
		defer cancel()
		rtt, err := api.Ping(ctx, req.Name)
		return &PingResult{RTT: rtt}, err
	case OpLogs:
		lines, err := api.Logs(ctx, req.Name, req.N)
		if err != nil {
			return nil, err
		}
		return c.fitLogs(req.Name, lines), nil
	case OpHistory:
		types := make([]supervisor.EventType, len(req.Types))
		for i, t := range req.Types {
			types[i] = supervisor.EventType(t)
		}
		q := supervisor.HistoryQuery{Plugin: req.Name, Types: types, N: req.N}
		if err := q.Check(); err != nil {
			return nil, &Error{Code: CodeBadRequest, Message: err.Error()}
		}
		events, err := api.History(ctx, q)
		if err != nil {
			return nil, err
		}
		return c.fitEvents(req.Name, events), nil
	}
	return nil, &Error{Code: CodeUnknownOp, Message: fmt.Sprintf("unknown op %q", req.Op)}
}

// Bounds of a logs result's encoding, to keep it within a frame: the
// response around the array (kind, id, result, the array's header), and one
// line's keys, map and string headers and timestamp, each at their largest.
const (
	logsEnvelope = 64
	logLineFixed = 64
)

// fitLogs keeps the newest of lines whose response fits in a frame (a
// thousand lines of 16 KiB each would not): a logs result is the most
// recent lines, fewer than asked for when they are long.
func (c *conn) fitLogs(name string, lines []supervisor.LogLine) []supervisor.LogLine {
	room := c.srv.MaxFrame - logsEnvelope
	i := len(lines)
	for ; i > 0; i-- {
		l := &lines[i-1]
		room -= logLineFixed + len(l.Instance) + len(l.Stream) + len(l.Text)
		if room < 0 {
			break
		}
	}
	if i > 0 {
		c.log.Debug("control logs result cut to fit a frame", "name", name, "lines", len(lines), "kept", len(lines)-i)
	}
	return lines[i:]
}

// historyPage is a history result and how many of the events selected it
// left out, the oldest, to fit a frame: respond sends it as the result and
// the response's omitted.
type historyPage struct {
	events  []supervisor.Event
	omitted int
}

// historyEnvelope bounds what a history response holds around its events:
// kind, id, omitted and the result's key and array header at their largest.
const historyEnvelope = 64

// fitEvents keeps the newest of events whose response fits in a frame, by
// the length of their encoding (an estimate of their size can err low),
// and counts the rest. It stops at the first that does not fit, however
// small the older ones: a history with a hole in it would mislead.
func (c *conn) fitEvents(name string, events []supervisor.Event) *historyPage {
	room := c.srv.MaxFrame - historyEnvelope
	var scratch []byte
	i := len(events)
	for ; i > 0; i-- {
		scratch = appendEvent(scratch[:0], &events[i-1])
		if room -= len(scratch); room < 0 {
			break
		}
	}
	if i > 0 {
		c.log.Debug("control history result cut to fit a frame", "name", name, "events", len(events), "kept", len(events)-i)
	}
	return &historyPage{events: events[i:], omitted: i}
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
// dispatch has refused a buffer above MaxEventBuffer and counted the
// subscription against the connection's bound; it is uncounted here.
func (c *conn) subscribe(ctx context.Context, req *Request) {
	buffer := req.Buffer
	if buffer <= 0 {
		buffer = DefaultEventBuffer
	}
	events, unsubscribe, err := c.srv.API.Subscribe(ctx, buffer)
	if err != nil {
		c.forget(req.ID, true)
		c.respond(req.ID, nil, err)
		return
	}
	defer unsubscribe()
	c.srv.subs.Add(1)
	defer c.srv.subs.Add(-1)
	defer c.forget(req.ID, true)
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
	if errors.Is(err, ErrFrameTooLarge) {
		c.log.Warn("control event too large for a frame; dropped", "type", ev.Type, "instance", ev.Instance, "err", err)
		drop := &supervisor.Event{Type: supervisor.EventDropped, Time: ev.Time, Dropped: 1}
		err = c.w.send(&EventFrame{Kind: KindEvent, ID: id, Event: drop}, more)
	}
	return err
}
