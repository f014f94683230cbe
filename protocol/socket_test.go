package protocol_test

import (
	"errors"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
)

// Every Conn test runs over a real Unix stream socket, the transport the
// supervisor uses; nothing is mocked.

// maxSocketPath is Linux's limit on a socket path (sun_path less the NUL).
const maxSocketPath = 107

// hangGuard bounds a wait that should end at once, so a broken Conn fails
// the test instead of hanging it. It is not a speed assertion.
const hangGuard = 10 * time.Second

// server is a Unix socket listener whose accepted connections arrive as raw
// net.Conns on a channel.
type server struct {
	ln       *net.UnixListener
	path     string
	accepted chan net.Conn
}

func newServer(t testing.TB) *server {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s")
	if len(path) > maxSocketPath {
		t.Fatalf("socket path %q is %d bytes, over Linux's %d: set TMPDIR to a shorter directory", path, len(path), maxSocketPath)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	s := &server{ln: ln, path: path, accepted: make(chan net.Conn, 16)}
	go func() {
		defer close(s.accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range s.accepted {
			c.Close()
		}
	})
	return s
}

// dialRaw connects a plain net.Conn and returns it with the server's end.
func (s *server) dialRaw(t testing.TB) (client, srv net.Conn) {
	t.Helper()
	client, err := net.Dial("unix", s.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	select {
	case srv = <-s.accepted:
	case <-time.After(hangGuard):
		t.Fatal("no connection accepted")
	}
	t.Cleanup(func() { srv.Close() })
	return client, srv
}

// connPair returns two Conns joined by a real socket on s.
func (s *server) connPair(t testing.TB, clientOpts, serverOpts protocol.Options) (client, srv *protocol.Conn) {
	t.Helper()
	c, sc := s.dialRaw(t)
	return protocol.NewConn(c, clientOpts), protocol.NewConn(sc, serverOpts)
}

// connPair is a one-off pair on its own listener.
func connPair(t testing.TB, opts protocol.Options) (client, srv *protocol.Conn) {
	t.Helper()
	return newServer(t).connPair(t, opts, opts)
}

// healthy is a connection that must keep working while another connection
// on the same listener is fed garbage.
type healthy struct {
	client, srv *protocol.Conn
	seq         uint64
}

func newHealthy(t testing.TB, s *server) *healthy {
	t.Helper()
	guard := protocol.Options{ReadTimeout: hangGuard}
	c, sc := s.connPair(t, guard, guard)
	return &healthy{client: c, srv: sc}
}

// exchange sends a ping one way and the pong back, checking both arrive
// intact.
func (h *healthy) exchange(t testing.TB) {
	t.Helper()
	h.seq++
	if err := h.client.Send(&protocol.Ping{Seq: h.seq, Time: int64(h.seq) * 1000}); err != nil {
		t.Fatalf("healthy connection: send ping: %v", err)
	}
	m, err := h.srv.Recv()
	if err != nil {
		t.Fatalf("healthy connection: recv ping: %v", err)
	}
	p, ok := m.(*protocol.Ping)
	if !ok || p.Seq != h.seq {
		t.Fatalf("healthy connection: got %#v, want ping %d", m, h.seq)
	}
	if err := h.srv.Send(&protocol.Pong{Seq: p.Seq, Time: p.Time}); err != nil {
		t.Fatalf("healthy connection: send pong: %v", err)
	}
	m, err = h.client.Recv()
	if pong, ok := m.(*protocol.Pong); err != nil || !ok || pong.Seq != h.seq {
		t.Fatalf("healthy connection: got %#v, %v; want pong %d", m, err, h.seq)
	}
}

// refuseStream writes stream on a fresh connection to s and returns the
// error the server's Conn fails with. Around it, it checks that the failure
// ended that connection alone: h exchanges before and after, and the bad
// client sees its connection closed by the server.
func refuseStream(t *testing.T, s *server, h *healthy, stream []byte, opts protocol.Options) error {
	t.Helper()
	h.exchange(t)
	bad, sc := s.dialRaw(t)
	opts.ReadTimeout = hangGuard
	conn := protocol.NewConn(sc, opts)
	go func() {
		// CloseWrite lets the truncated cases end; the rest fail before EOF.
		bad.Write(stream)
		bad.(*net.UnixConn).CloseWrite()
	}()
	m, err := conn.Recv()
	if err == nil {
		t.Fatalf("Recv accepted %#v", m)
	}
	if protocol.IsTimeout(err) {
		t.Fatalf("Recv did not fail on its own: %v", err)
	}
	conn.Close()
	bad.SetReadDeadline(time.Now().Add(hangGuard))
	// EOF, or ECONNRESET when the server closed with bytes still unread.
	if n, rerr := bad.Read(make([]byte, 1)); n != 0 || !errors.Is(rerr, io.EOF) && !errors.Is(rerr, syscall.ECONNRESET) {
		t.Fatalf("bad client: read %d bytes, %v; want the connection closed by the server", n, rerr)
	}
	h.exchange(t)
	return err
}
