package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/plugvisor/plugvisor/control"
	"github.com/plugvisor/plugvisor/supervisor"
)

// ClientOptions configure NewClient.
type ClientOptions struct {
	Conn     *nats.Conn
	Subjects Subjects // the remote host's
	// Timeout bounds a call whose context has no deadline. Default
	// DefaultTimeout.
	Timeout time.Duration
}

// Client is the operator API of one remote host over NATS, as
// control.Client is over the control socket: any face of the engine works
// against it unchanged. Errors are the engine's sentinels, through
// control.Error (errors.Is works as on the engine's side), each prefixed
// with the host; a host nobody serves fails with ErrNoResponders at once.
// A context that ends abandons the wait; unlike the control socket, the
// host is not told, and a task sent goes on until the deadline that
// travelled with it. It is safe for concurrent use and owns nothing: the
// connection is the caller's.
type Client struct {
	nc      *nats.Conn
	subj    Subjects
	timeout time.Duration
	dropped atomic.Uint64 // events this client's subscribers lost, all told
	closed  chan struct{} // an Operator's: closed with its connection
}

var _ supervisor.API = (*Client)(nil)

// ErrNoResponders is a call to a host that no plugvisor serves: not
// running, the fleet off, or the host's name mistaken.
var ErrNoResponders = errors.New("no responders")

// NewClient is a client for the host o.Subjects names.
func NewClient(o ClientOptions) *Client {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return &Client{nc: o.Conn, subj: o.Subjects, timeout: o.Timeout}
}

// Host is the name of the host this client calls.
func (c *Client) Host() string { return c.subj.Host }

// Dropped is how many events this client's subscribers lost, all told.
func (c *Client) Dropped() uint64 { return c.dropped.Load() }

// Info implements supervisor.API: the remote host's Info. Events lost by
// this client's own subscribers count in DroppedEvents.
func (c *Client) Info(ctx context.Context) (supervisor.Info, error) {
	r, err := c.HostInfo(ctx)
	return r.Info, err
}

// HostInfo is Info with the labels the host is served with, as the host
// itself says them on its API subject.
func (c *Client) HostInfo(ctx context.Context) (InfoResult, error) {
	var out InfoResult
	err := c.call(ctx, OpInfo, nil, &out)
	out.DroppedEvents += c.dropped.Load()
	return out, err
}

// Snapshot implements supervisor.API.
func (c *Client) Snapshot(ctx context.Context) ([]supervisor.PluginStatus, error) {
	var out []supervisor.PluginStatus
	err := c.call(ctx, OpStatus, nil, &out)
	return out, err
}

// Start implements supervisor.API: it returns once the plugin registered.
func (c *Client) Start(ctx context.Context, name string) error {
	return c.call(ctx, OpStart, &NameRequest{Name: name}, nil)
}

// Stop implements supervisor.API: it returns once the plugin is gone.
func (c *Client) Stop(ctx context.Context, name string) error {
	return c.call(ctx, OpStop, &NameRequest{Name: name}, nil)
}

// Restart implements supervisor.API: it returns once the plugin registered
// again.
func (c *Client) Restart(ctx context.Context, name string) error {
	return c.call(ctx, OpRestart, &NameRequest{Name: name}, nil)
}

// Reload implements supervisor.API.
func (c *Client) Reload(ctx context.Context) error {
	return c.call(ctx, OpReload, nil, nil)
}

// SendTask implements supervisor.API. ctx's deadline travels with the
// request, so the host gives up when the caller does. The Reply comes back
// with its token and outcome even when the task failed; when ctx ends
// first, its outcome is supervisor.GaveUp's.
func (c *Client) SendTask(ctx context.Context, req supervisor.TaskRequest) (supervisor.Reply, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	out := supervisor.Reply{Plugin: req.Plugin, ID: req.ID, Token: req.Token, Outcome: supervisor.OutcomeNotSent}
	wire := &SendRequest{Plugin: req.Plugin, ID: req.ID, Content: req.Content, Token: req.Token, Timeout: wireTimeout(left(ctx))}
	err := c.call(ctx, OpSend, wire, &out)
	out.Settle(ctx, err)
	return out, err
}

// Ping implements supervisor.API.
func (c *Client) Ping(ctx context.Context, name string) (time.Duration, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	var out PingResult
	err := c.call(ctx, OpPing, &PingRequest{Name: name, Timeout: wireTimeout(left(ctx))}, &out)
	return out.RTT, err
}

// Logs implements supervisor.API. A result larger than a response holds
// the newest lines that fit.
func (c *Client) Logs(ctx context.Context, name string, n int) ([]supervisor.LogLine, error) {
	var out []supervisor.LogLine
	err := c.call(ctx, OpLogs, &LogsRequest{Name: name, N: n}, &out)
	return out, err
}

// History implements supervisor.API. A result larger than a response
// holds the newest events that fit; HistoryPage says how many were left
// out.
func (c *Client) History(ctx context.Context, q supervisor.HistoryQuery) ([]supervisor.Event, error) {
	p, err := c.HistoryPage(ctx, q)
	return p.Events, err
}

// HistoryPage asks for history as History does, and says what was left
// out.
func (c *Client) HistoryPage(ctx context.Context, q supervisor.HistoryQuery) (control.HistoryPage, error) {
	var out HistoryResult
	err := c.call(ctx, OpHistory, &q, &out)
	return control.HistoryPage{Events: out.Events, Omitted: out.Omitted}, err
}

// bound gives ctx the client's timeout when it has no deadline.
func (c *Client) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.timeout)
}

// left is what remains of ctx's deadline, at least a millisecond.
func left(ctx context.Context) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return max(time.Until(dl), time.Millisecond)
}

// call sends req (nil: no body) to op and decodes the result into out (nil:
// none expected). A task's reply comes with its error, and is decoded
// into out as well.
func (c *Client) call(ctx context.Context, op string, req, out any) error {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	body, err := encodeRequest(req)
	if err != nil {
		return fmt.Errorf("host %s: %s request: %w", c.subj.Host, op, err)
	}
	msg, err := c.nc.RequestWithContext(ctx, c.subj.API(op), body)
	if err != nil {
		return c.transportError(op, err)
	}
	if code := msg.Header.Get(micro.ErrorCodeHeader); code != "" {
		if op == OpSend && out != nil && len(msg.Data) > 0 {
			_ = decodeResult(msg.Data, out) // best effort: the error is the news
		}
		e := &control.Error{Code: control.Code(code), Message: msg.Header.Get(micro.ErrorHeader)}
		return c.remoteError(ctx, e)
	}
	if out == nil {
		return nil
	}
	if err := decodeResult(msg.Data, out); err != nil {
		return fmt.Errorf("host %s: bad %s result: %w", c.subj.Host, op, err)
	}
	return nil
}

// encodeRequest is req's body: a task's by hand, as the hot path.
func encodeRequest(req any) ([]byte, error) {
	switch r := req.(type) {
	case nil:
		return nil, nil
	case *SendRequest:
		return appendSendRequest(make([]byte, 0, 96+len(r.Plugin)+len(r.Content)+len(r.Token)), r), nil
	}
	return json.Marshal(req)
}

// decodeResult reads a result into out: a task's Reply by hand.
func decodeResult(data []byte, out any) error {
	if r, ok := out.(*supervisor.Reply); ok {
		return decodeReply(data, r)
	}
	return json.Unmarshal(data, out)
}

func (c *Client) transportError(op string, err error) error {
	if errors.Is(err, nats.ErrNoResponders) {
		return fmt.Errorf("host %s: %w (is plugvisor running there with the fleet on?)", c.subj.Host, ErrNoResponders)
	}
	return fmt.Errorf("host %s: %s: %w", c.subj.Host, op, err)
}

// remoteError is the host's error, or ctx's own when the host's is its
// copy of ctx's deadline having passed: the host's copy starts later, so
// by the time its answer is here ctx has ended too, and whichever side
// noticed first the caller gets the same error. The deadline is read off
// the clock as well: ctx.Err() is set by a timer that may not have run yet.
func (c *Client) remoteError(ctx context.Context, e *control.Error) error {
	if e.Code == control.CodeDeadline || e.Code == control.CodeCanceled {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("host %s: %w", c.subj.Host, cerr)
		}
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			return fmt.Errorf("host %s: %w", c.subj.Host, context.DeadlineExceeded)
		}
	}
	return fmt.Errorf("host %s: %w", c.subj.Host, e)
}
