package control

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// Client is a connection to a control socket. It implements
// supervisor.API, so any face of the engine (the console, scripts) works on a
// remote supervisor; the *Context methods are the same calls with a context
// and an error for callers that need them. It is safe for concurrent use:
// requests carry ids and many may be in flight at once.
type Client struct {
	nc    net.Conn
	w     *frameWriter
	max   int
	hello HelloResult

	nextID  atomic.Uint64
	dropped atomic.Uint64 // events this client's subscribers lost, all told

	mu    sync.Mutex
	calls map[uint64]*pending
	subs  map[uint64]*subscription
	err   error // why the connection ended; set once, with done closed
	done  chan struct{}
}

var _ supervisor.API = (*Client)(nil)

// Timeouts of API methods that take no context: the console calls them on a
// tick and must not hang on a wedged server.
const queryTimeout = 10 * time.Second

// Dial connects to the control socket at path and says hello. Without a
// deadline in ctx, the hello is given queryTimeout: something that accepts
// connections but never answers is not a plugvisor.
func Dial(ctx context.Context, path string) (*Client, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, queryTimeout)
		defer cancel()
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("connect to control socket: %w", err)
	}
	if err := checkServer(nc); err != nil {
		nc.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	c := &Client{nc: nc, max: protocol.DefaultMaxFrame, calls: map[uint64]*pending{},
		subs: map[uint64]*subscription{}, done: make(chan struct{})}
	c.w = newFrameWriter(nc, DefaultWriteTimeout, c.max, func(err error) { writeFailed(nc, err) })
	go c.read()
	req := &Request{Op: OpHello, Versions: []uint16{Version}, Client: clientName()}
	if err := c.call(ctx, req, &c.hello); err != nil {
		err = c.lastWord(ctx, err)
		c.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return c, nil
}

// lastWord is the server's reason for refusing us (permission denied, one
// connection too many) when the hello failed on the connection itself: the
// refusal may still be on its way to the reader, which ends at the server's
// close.
func (c *Client) lastWord(ctx context.Context, err error) error {
	if _, remote := errors.AsType[*Error](err); remote {
		return err
	}
	select {
	case <-c.done:
		if e, ok := errors.AsType[*Error](c.Err()); ok {
			return e
		}
	case <-ctx.Done():
	}
	return err
}

// writeFailed ends a connection whose write failed. A server that closed
// its end may have said why first (a refusal, a protocol error): then only
// our writing stops, and the reader goes on to read those last words before
// the end of the stream. A server that stopped reading is given up on.
func writeFailed(nc net.Conn, err error) {
	if uc, ok := nc.(*net.UnixConn); ok && (errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)) {
		_ = uc.CloseWrite()
		return
	}
	nc.Close()
}

func clientName() string {
	exe, _ := os.Executable()
	return fmt.Sprintf("%s[%d]", filepath.Base(exe), os.Getpid())
}

// Close ends the connection; calls in flight fail with ErrConnClosed.
func (c *Client) Close() error {
	err := c.nc.Close()
	<-c.done
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Done is closed when the connection has ended; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the connection ended, or nil while it is up.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// pending is a request waiting for its response. The reader decodes the
// result straight into out and then sends the outcome on done; it takes the
// pending out of the map first, so the waiter and the reader never touch out
// at the same time.
type pending struct {
	out     any
	omitted *int // the response's omitted, for the calls that have one
	done    chan error
}

// read dispatches the server's frames until the connection ends.
func (c *Client) read() {
	br := bufio.NewReaderSize(c.nc, 32<<10)
	var buf []byte
	var notice *Error // the server's last word before it closed
	var err error
	for {
		var payload []byte
		if payload, err = protocol.ReadFrame(br, buf, c.max); err != nil {
			break
		}
		if cap(payload) <= keepBuffer {
			buf = payload[:0]
		}
		var n *Error
		if n, err = c.frame(payload); err != nil {
			err = fmt.Errorf("bad frame from server: %w", err)
			break
		}
		if n != nil {
			notice = n
		}
	}
	c.shutdown(err, notice)
}

// inbound is a server frame as the reader sees it.
type inbound struct {
	kind    Kind
	id      uint64
	call    *pending // taken from the waiters when the result arrived
	taken   bool
	err     *Error
	raw     []byte // a result that came before kind and id
	event   *supervisor.Event
	omitted int
}

// frame decodes and dispatches one frame. It returns the error of a
// response to id 0: the server's reason for closing the connection.
func (c *Client) frame(payload []byte) (*Error, error) {
	r := newReader(payload)
	var in inbound
	err := trailing(r, r.fields("frame", func(key []byte) error { return c.field(r, key, &in) }))
	if !in.taken && in.kind == KindResponse && in.id != 0 {
		in.call = c.take(in.id)
		if in.call != nil && in.call.out != nil && in.raw != nil && err == nil {
			err = newReader(in.raw).result(in.call.out)
		}
	}
	switch {
	case in.call != nil:
		if in.call.omitted != nil {
			*in.call.omitted = in.omitted
		}
		in.call.done <- outcome(in.err, err)
	case err != nil:
	case in.kind == KindResponse && in.id == 0:
		return in.err, nil
	case in.kind == KindResponse && in.err != nil:
		c.unsubscribe(in.id) // the server refused a subscription
	case in.kind == KindEvent && in.event != nil:
		c.event(in.id, in.event)
	}
	// Other kinds are from a newer server; this version has no use for them.
	return nil, err
}

func (c *Client) field(r *reader, key []byte, in *inbound) error {
	var err error
	switch string(key) {
	case "kind":
		var b []byte
		b, err = r.StrBytes()
		in.kind = kindOf(b)
	case "id":
		in.id, err = r.Uint(math.MaxUint64)
	case "error":
		in.err = new(Error)
		err = r.result(in.err)
	case "result":
		// Our server sends kind and id first, so the result can go
		// straight into its waiter's value; another order is decoded
		// once the frame is read.
		if in.kind != KindResponse || in.id == 0 {
			in.raw, err = r.Raw()
			break
		}
		in.call, in.taken = c.take(in.id), true
		if in.call == nil || in.call.out == nil {
			return r.Skip()
		}
		err = r.result(in.call.out)
	case "omitted":
		var n uint64
		n, err = r.Uint(math.MaxInt32)
		in.omitted = int(n)
	case "event":
		in.event = new(supervisor.Event)
		err = r.result(in.event)
	default:
		err = r.Skip()
	}
	return err
}

func outcome(e *Error, err error) error {
	if err != nil {
		return fmt.Errorf("bad result from server: %w", err)
	}
	if e != nil {
		return e
	}
	return nil
}

func (c *Client) shutdown(err error, notice *Error) {
	switch {
	case notice != nil:
		err = notice
	case err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed):
		err = ErrConnClosed
	default:
		err = fmt.Errorf("%w: %w", ErrConnClosed, err)
	}
	c.nc.Close()
	c.w.close()
	c.mu.Lock()
	c.err = err
	subs := c.subs
	c.subs = map[uint64]*subscription{}
	c.mu.Unlock()
	close(c.done)
	for _, s := range subs {
		s.Close()
	}
}

// take removes and returns the request waiting for id, if any.
func (c *Client) take(id uint64) *pending {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.calls[id]
	delete(c.calls, id)
	return p
}

func (c *Client) event(id uint64, ev *supervisor.Event) {
	c.mu.Lock()
	sub := c.subs[id]
	c.mu.Unlock()
	if sub != nil {
		deliver(sub, *ev)
	}
}

// call sends req and waits for its response, decoding the result into out
// (nil: none expected). When ctx ends first the server is told to cancel.
func (c *Client) call(ctx context.Context, req *Request, out any) error {
	return c.callOmitted(ctx, req, out, nil)
}

// callOmitted is call for a result that may come with a count of what the
// server left out of it, written to omitted.
func (c *Client) callOmitted(ctx context.Context, req *Request, out any, omitted *int) error {
	req.Kind = KindRequest
	req.ID = c.nextID.Add(1)
	if dl, ok := ctx.Deadline(); ok && req.Timeout == 0 && (req.Op == OpSendTask || req.Op == OpPing) {
		req.Timeout = max(time.Until(dl), time.Millisecond)
	}
	p := &pending{out: out, omitted: omitted, done: make(chan error, 1)}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return c.err
	}
	c.calls[req.ID] = p
	c.mu.Unlock()
	if err := c.w.send(req, false); err != nil {
		c.forget(req.ID)
		if errors.Is(err, ErrFrameTooLarge) {
			// Nothing was written: the connection is fine, the request is not.
			return fmt.Errorf("%s request not sent: %w", req.Op, err)
		}
		return c.sendError(err)
	}
	select {
	case err := <-p.done:
		return c.ownDeadline(ctx, err)
	case <-ctx.Done():
		if c.forget(req.ID) {
			_ = c.w.send(&Request{Kind: KindCancel, ID: req.ID}, false)
			return ctx.Err()
		}
		return c.ownDeadline(ctx, <-p.done) // the response crossed the cancel
	case <-c.done:
		select {
		case err := <-p.done:
			return err
		default:
			return c.Err()
		}
	}
}

// ownDeadline returns ctx's own error for a server error that is the
// server's copy of ctx's deadline (or its cancel) having passed. The server's
// copy starts later, so by the time its answer is here ctx has ended too:
// whichever side noticed first, the caller gets the same error.
// The deadline is read off the clock as well: ctx.Err() is set by a timer
// that may not have run yet when the answer arrives.
func (c *Client) ownDeadline(ctx context.Context, err error) error {
	e, ok := errors.AsType[*Error](err)
	if !ok || (e.Code != CodeDeadline && e.Code != CodeCanceled) {
		return err
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return err
}

// forget drops a waiter and reports whether it was still waiting.
func (c *Client) forget(id uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.calls[id]
	delete(c.calls, id)
	return ok
}

func (c *Client) sendError(err error) error {
	if e := c.Err(); e != nil {
		return e
	}
	return fmt.Errorf("%w: %w", ErrConnClosed, err)
}
