package control

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugvisor/plugvisor/internal/unixsock"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// Defaults of a Server's limits.
const (
	DefaultMaxInFlight      = 1024
	DefaultMaxSubscriptions = 16
	// DefaultMaxTotalSubscriptions: 64 × the 16 MiB subscriber budget is
	// the most the control socket's clients can make the engine hold.
	DefaultMaxTotalSubscriptions = 64
	DefaultWriteTimeout          = 5 * time.Second
	DefaultHandshakeTimeout      = 10 * time.Second
	DefaultIdleTimeout           = 5 * time.Minute
	DefaultMaxConns              = 128
	DefaultEventBuffer           = 4096
	// MaxEventBuffer is the largest buffer a subscribe request may ask
	// for; a larger one is refused with bad_request. The engine allocates
	// each subscription's queue up front, so this and MaxSubscriptions
	// bound what one connection can make the server hold.
	MaxEventBuffer = 1 << 14
)

// Server serves an operator API to the clients of a control socket. Set the
// fields before Serve; zero values take the defaults.
type Server struct {
	API supervisor.API
	Log *slog.Logger
	// MaxInFlight bounds the requests (subscriptions included) one
	// connection may have in flight; beyond it a request is answered
	// too_many_requests at once.
	MaxInFlight int
	// MaxSubscriptions bounds the subscriptions open at once on one
	// connection, and MaxTotalSubscriptions on all of them; beyond either a
	// subscribe is answered too_many_requests. Each holds up to the
	// engine's subscriber_buffer of events, so together they bound what
	// clients can make the server hold.
	MaxSubscriptions      int
	MaxTotalSubscriptions int
	// WriteTimeout bounds each write to a client; a client that stops
	// reading for this long is disconnected.
	WriteTimeout time.Duration
	// HandshakeTimeout bounds the wait for a new connection's hello, and
	// IdleTimeout how long a connection may sit with no request in flight
	// and no subscription: connections that say nothing hold descriptors
	// and must not pile up.
	HandshakeTimeout time.Duration
	IdleTimeout      time.Duration
	// MaxConns bounds the connections served at once; one beyond it is
	// told too_many_requests and closed.
	MaxConns int
	MaxFrame int // largest frame accepted and sent; default protocol.DefaultMaxFrame

	conns, inFlight, subs atomic.Int64
	dropped               atomic.Uint64 // connections refused at MaxConns
}

// Serve serves api on a Unix socket at path (0600 in a 0700 directory; a
// stale socket is replaced) to clients of our own uid, until ctx ends. It
// returns after closing the listener and every connection.
func Serve(ctx context.Context, api supervisor.API, path string, log *slog.Logger) error {
	ln, err := unixsock.Listen(path)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	return (&Server{API: api, Log: log}).ServeListener(ctx, ln)
}

// Stats counts what a server is serving now, and the connections it
// refused for being one too many.
type Stats struct {
	Conns, InFlight, Subscriptions int64
	Refused                        uint64
}

// Stats returns the live counts.
func (s *Server) Stats() Stats {
	return Stats{Conns: s.conns.Load(), InFlight: s.inFlight.Load(), Subscriptions: s.subs.Load(), Refused: s.dropped.Load()}
}

func (s *Server) defaults() {
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	orDefault(&s.MaxInFlight, DefaultMaxInFlight)
	orDefault(&s.MaxSubscriptions, DefaultMaxSubscriptions)
	orDefault(&s.MaxTotalSubscriptions, DefaultMaxTotalSubscriptions)
	orDefault(&s.MaxFrame, protocol.DefaultMaxFrame)
	orDefault(&s.MaxConns, DefaultMaxConns)
	orDefault(&s.WriteTimeout, DefaultWriteTimeout)
	orDefault(&s.HandshakeTimeout, DefaultHandshakeTimeout)
	orDefault(&s.IdleTimeout, DefaultIdleTimeout)
}

// orDefault sets a zero or negative field to its default.
func orDefault[T int | time.Duration](field *T, def T) {
	if *field <= 0 {
		*field = def
	}
}

// ServeListener serves on ln, which it closes when ctx ends; it returns once
// every connection is closed and its requests have finished.
func (s *Server) ServeListener(ctx context.Context, ln *net.UnixListener) error {
	s.defaults()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	s.Log.Info("control socket listening", "socket", ln.Addr().String())
	var wg sync.WaitGroup
	defer wg.Wait()
	unixsock.Accept(ln, s.Log, "control socket", func(c *net.UnixConn) {
		if s.conns.Load() >= int64(s.MaxConns) {
			s.dropped.Add(1)
			wg.Go(func() {
				s.turnAway(c, &Error{Code: CodeTooManyRequests,
					Message: fmt.Sprintf("%v: the control socket already has %d connections, the most it serves", ErrTooManyRequests, s.MaxConns)})
			})
			return
		}
		s.conns.Add(1)
		wg.Go(func() {
			defer s.conns.Add(-1)
			s.serve(ctx, c)
		})
	})
	return nil
}

// serve runs one connection after checking who is on the other end.
func (s *Server) serve(ctx context.Context, c *net.UnixConn) {
	cred, err := unixsock.PeerCred(c)
	if err != nil {
		s.Log.Warn("control connection refused: no peer credentials", "err", err)
		c.Close()
		return
	}
	log := s.Log.With("peer_pid", cred.Pid, "peer_uid", cred.Uid)
	if uid := os.Getuid(); int(cred.Uid) != uid {
		msg := fmt.Sprintf("control connection refused: peer uid %d (pid %d) is not our uid %d", cred.Uid, cred.Pid, uid)
		log.Warn(msg)
		s.refuse(c, &Error{Code: CodePermissionDenied, Message: msg})
		return
	}
	newConn(ctx, s, c, log).run()
}

// refuse tells a peer why it is turned away, within the write timeout, and
// closes the connection.
func (s *Server) refuse(c net.Conn, e *Error) {
	w := newFrameWriter(c, s.WriteTimeout, s.MaxFrame, nil)
	_ = w.send(&Response{Kind: KindResponse, Error: e}, false)
	w.close()
	lingerClose(c)
}

// turnAway tells a peer it is one too many and closes, reading nothing from
// it: its credentials were not checked, and draining it (as refuse does)
// would let anyone make the server read.
func (s *Server) turnAway(c net.Conn, e *Error) {
	w := newFrameWriter(c, s.WriteTimeout, s.MaxFrame, nil)
	_ = w.send(&Response{Kind: KindResponse, Error: e}, false)
	w.close()
	c.Close()
}

// lingerClose closes a connection whose peer may still be sending, so that
// our last words reach it: closing a Unix socket with unread input makes the
// peer's next read fail with ECONNRESET, even before it reads what we sent.
// So: stop writing, read and discard until the peer closes too (within a
// second), then close.
func lingerClose(c net.Conn) {
	if uc, ok := c.(*net.UnixConn); ok {
		_ = uc.CloseWrite()
		_ = uc.SetReadDeadline(time.Now().Add(time.Second))
		_, _ = io.Copy(io.Discard, io.LimitReader(uc, 1<<20))
	}
	c.Close()
}
