package control

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugvisor/plugvisor/internal/clip"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// conn is one client connection on the server: a reader that dispatches
// each request to its own goroutine (bounded by the semaphore) and a shared
// writer for their responses and events.
type conn struct {
	srv    *Server
	nc     net.Conn
	log    *slog.Logger
	w      *frameWriter
	srvCtx context.Context // the server's: its end closes the connection
	ctx    context.Context // ends with the connection: cancels every request
	end    context.CancelFunc
	sem    chan struct{}

	work chan job     // unbuffered: hands a job to a parked worker
	idle atomic.Int32 // workers parked on work

	mu    sync.Mutex
	calls map[uint64]context.CancelFunc // requests and subscriptions in flight
	subs  int                           // subscriptions among them
	wg    sync.WaitGroup

	version uint16 // 0 until hello; read and written by the reader only
}

func newConn(srvCtx context.Context, srv *Server, nc net.Conn, log *slog.Logger) *conn {
	ctx, end := context.WithCancel(srvCtx)
	c := &conn{srv: srv, nc: nc, log: log, srvCtx: srvCtx, ctx: ctx, end: end,
		sem: make(chan struct{}, srv.MaxInFlight), work: make(chan job), calls: map[uint64]context.CancelFunc{}}
	c.w = newFrameWriter(nc, srv.WriteTimeout, srv.MaxFrame, func(err error) {
		// Closing unblocks the reader, which then ends everything else.
		log.Warn("control client dropped: it is not reading its responses", "err", err)
		nc.Close()
	})
	return c
}

// run serves until the client leaves, sends a bad frame, stops reading, or
// the server stops; then it cancels the connection's requests and
// subscriptions and waits for their goroutines.
func (c *conn) run() {
	// The server's end closes the socket, which ends read; the
	// connection's own end (c.end) must not, or last words would be lost.
	stop := context.AfterFunc(c.srvCtx, func() { c.nc.Close() })
	defer stop()
	err := c.read()
	c.end()
	c.w.close() // the last words (a protocol error's reason) leave first
	if err != nil {
		lingerClose(c.nc)
	}
	c.nc.Close()
	c.wg.Wait()
	if err != nil {
		c.log.Error("control connection closed", "err", err)
		return
	}
	c.log.Debug("control client left")
}

// read reads frames until the connection ends. A nil error is a normal end.
func (c *conn) read() error {
	br := bufio.NewReaderSize(c.nc, 32<<10)
	var buf []byte
	_ = c.nc.SetReadDeadline(time.Now().Add(c.srv.HandshakeTimeout))
	for {
		payload, err := protocol.ReadFrame(br, buf, c.srv.MaxFrame)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || c.ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return c.silent()
			}
			return c.protocolError(fmt.Errorf("bad frame from client: %w", err))
		}
		if cap(payload) <= keepBuffer {
			buf = payload[:0]
		}
		if err := c.frame(payload); err != nil {
			if a, ok := errors.AsType[answered](err); ok {
				return a.error
			}
			return c.protocolError(err)
		}
	}
}

// silent ends a connection whose read deadline passed: no hello in time,
// or nothing in flight for IdleTimeout. The client is told, as for a
// protocol error, but the log says it at Info: a client that goes quiet is
// not misbehaving.
func (c *conn) silent() error {
	why := fmt.Sprintf("no hello within %s", c.srv.HandshakeTimeout)
	if c.version != 0 {
		why = fmt.Sprintf("idle for %s with no request in flight and no subscription", c.srv.IdleTimeout)
	}
	_ = c.w.send(&Response{Kind: KindResponse, Error: &Error{Code: CodeIdle, Message: "closing the connection: " + why}}, false)
	c.log.Info("control connection closed", "why", why)
	return nil
}

// protocolError tells the client why its connection is closing, as a
// response to id 0, and returns err for the log.
func (c *conn) protocolError(err error) error {
	_ = c.w.send(&Response{Kind: KindResponse, Error: &Error{Code: CodeProtocol, Message: err.Error()}}, false)
	return err
}

// frame handles one client frame; an error ends the connection.
func (c *conn) frame(payload []byte) error {
	req := new(Request)
	if err := decodeRequest(payload, req); err != nil {
		return fmt.Errorf("bad frame from client: %w", err)
	}
	switch {
	case req.Kind == KindCancel:
		c.cancel(req.ID)
		return nil
	case req.Kind != KindRequest:
		return fmt.Errorf("bad frame from client: kind %q is not request or cancel", req.Kind)
	case req.ID == 0:
		return fmt.Errorf("bad frame from client: request %s has id 0, which is reserved", req.Op)
	case req.Op == OpHello:
		return c.hello(req)
	case c.version == 0:
		return fmt.Errorf("bad frame from client: request %s before hello", req.Op)
	}
	c.dispatch(req)
	return nil
}

// answered is an error that ends the connection and that the client has
// already been told about in a response.
type answered struct{ error }

// hello negotiates the version; it is answered by the reader itself so that
// no request can overtake it.
func (c *conn) hello(req *Request) error {
	if c.version != 0 {
		return errors.New("bad frame from client: a second hello")
	}
	if !slices.Contains(req.Versions, Version) {
		msg := fmt.Sprintf("client speaks versions %v, server speaks [%d]", req.Versions[:min(len(req.Versions), 8)], Version)
		_ = c.w.send(&Response{Kind: KindResponse, ID: req.ID, Error: &Error{Code: CodeVersion, Message: msg}}, false)
		return answered{errors.New(msg)}
	}
	info, err := c.srv.API.Info(c.ctx)
	if err != nil {
		e := WireError(err)
		_ = c.w.send(&Response{Kind: KindResponse, ID: req.ID, Error: e}, false)
		return answered{err}
	}
	c.version = Version
	c.mu.Lock()
	c.armIdle() // the handshake's deadline gives way to the idle one
	c.mu.Unlock()
	c.log = c.log.With("client", clip.Text(req.Client, 64)) // the client's own words, on every line of its log
	c.log.Debug("control client connected")
	return c.w.send(&Response{Kind: KindResponse, ID: req.ID, Result: &HelloResult{Version: Version, Info: info}}, false)
}

// job is a request admitted to run.
type job struct {
	req    *Request
	ctx    context.Context
	cancel context.CancelFunc
}

// maxIdleWorkers bounds the goroutines a connection keeps parked between
// requests. Reusing them spares each request a fresh goroutine's stack
// growth, which cost more than the rest of the server's work per request.
const maxIdleWorkers = 64

// dispatch runs req on a goroutine of its own, a parked one if there is one,
// unless the connection already has its bound of requests (or of
// subscriptions) in flight.
func (c *conn) dispatch(req *Request) {
	sub := req.Op == OpSubscribe
	if sub && req.Buffer > MaxEventBuffer {
		c.respond(req.ID, nil, &Error{Code: CodeBadRequest,
			Message: fmt.Sprintf("subscribe: buffer %d exceeds the limit of %d events", req.Buffer, MaxEventBuffer)})
		return
	}
	select {
	case c.sem <- struct{}{}:
	default:
		c.respond(req.ID, nil, &Error{Code: CodeTooManyRequests,
			Message: fmt.Sprintf("%v: this connection already has %d", ErrTooManyRequests, c.srv.MaxInFlight)})
		return
	}
	ctx, cancel := context.WithCancel(c.ctx)
	c.mu.Lock()
	_, dup := c.calls[req.ID]
	full := sub && (c.subs >= c.srv.MaxSubscriptions || c.srv.subs.Load() >= int64(c.srv.MaxTotalSubscriptions))
	if !dup && !full {
		c.calls[req.ID] = cancel
		if sub {
			c.subs++
		}
		c.armIdle()
	}
	c.mu.Unlock()
	if dup || full {
		cancel()
		<-c.sem
		e := &Error{Code: CodeBadRequest, Message: fmt.Sprintf("request id %d is already in flight", req.ID)}
		if !dup {
			e = &Error{Code: CodeTooManyRequests, Message: fmt.Sprintf("%v: this connection already has %d subscriptions, or the server %d, the most they may have",
				ErrTooManyRequests, c.srv.MaxSubscriptions, c.srv.MaxTotalSubscriptions)}
		}
		c.respond(req.ID, nil, e)
		return
	}
	c.srv.inFlight.Add(1)
	j := job{req: req, ctx: ctx, cancel: cancel}
	select {
	case c.work <- j:
	default:
		c.wg.Go(func() { c.worker(j) })
	}
}

// worker runs j, then waits for the next job until the connection ends or
// enough others are already waiting.
func (c *conn) worker(j job) {
	for {
		c.run1(j)
		if c.idle.Add(1) > maxIdleWorkers {
			c.idle.Add(-1)
			return
		}
		select {
		case j = <-c.work:
			c.idle.Add(-1)
		case <-c.ctx.Done():
			c.idle.Add(-1)
			return
		}
	}
}

func (c *conn) run1(j job) {
	defer func() {
		j.cancel()
		c.srv.inFlight.Add(-1)
		<-c.sem
	}()
	if j.req.Op == OpSubscribe {
		c.subscribe(j.ctx, j.req)
		return
	}
	result, err := c.call(j.ctx, j.req)
	c.done(j.req.ID)
	c.respond(j.req.ID, result, err)
}

// done forgets a request before its response leaves, so a cancel that
// crosses the response finds nothing to do.
func (c *conn) done(id uint64) { c.forget(id, false) }

// forget removes request (or subscription) id from those in flight; the
// connection then idles if it was the last.
func (c *conn) forget(id uint64, sub bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.calls, id)
	if sub {
		c.subs--
	}
	c.armIdle()
}

// armIdle sets the read deadline for what the connection is doing: none
// while anything is in flight (a start may take minutes, a subscription
// lasts), IdleTimeout otherwise. Called with mu held, whenever calls
// changes, by whichever goroutine changed it.
func (c *conn) armIdle() {
	var dl time.Time
	if len(c.calls) == 0 {
		dl = time.Now().Add(c.srv.IdleTimeout)
	}
	_ = c.nc.SetReadDeadline(dl)
}

func (c *conn) cancel(id uint64) {
	c.mu.Lock()
	cancel := c.calls[id]
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func (c *conn) respond(id uint64, result any, err error) {
	resp := &Response{Kind: KindResponse, ID: id, Result: result}
	if p, ok := result.(*historyPage); ok {
		resp.Result, resp.Omitted = p.events, p.omitted
	}
	if err != nil {
		// A task's Reply goes with its error: the token and the outcome
		// are what the caller acts on.
		if _, ok := result.(*supervisor.Reply); !ok {
			resp.Result = nil
		}
		resp.Error = WireError(err)
	}
	err = c.w.send(resp, false)
	if r, ok := result.(*supervisor.Reply); ok && errors.Is(err, ErrFrameTooLarge) {
		// A task's outcome and token must reach the caller whatever its
		// records weigh: keep the final record, then none, counting the rest.
		for _, keep := range []int{1, 0} {
			shrunk := r.KeepLast(keep)
			resp.Result = &shrunk
			if err = c.w.send(resp, false); !errors.Is(err, ErrFrameTooLarge) {
				break
			}
		}
	}
	if errors.Is(err, ErrFrameTooLarge) {
		err = c.w.send(&Response{Kind: KindResponse, ID: id, Error: &Error{Code: CodeResultTooLarge, Message: err.Error()}}, false)
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		c.log.Debug("control response not sent", "id", id, "err", err)
	}
}
