// Package natstest runs a real nats-server inside a test process: JetStream
// in a temporary directory, loopback on a random port, an optional
// configuration file (for the fleet's generated permissions), and a stop
// and a restart on the same port and store, as an outage does.
package natstest

import (
	"math/rand/v2"
	"net"
	"strconv"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/plugvisor/plugvisor/internal/natsserver"
)

// Options say what server to run.
type Options struct {
	JetStream  bool
	ConfigFile string // a nats-server config; its listen address is replaced
	// Configure adjusts the options last, before the first start.
	Configure func(*server.Options)
}

// Server is one running nats-server; Stop and Restart keep its port and
// store, so clients reconnect to it and JetStream finds its streams again.
type Server struct {
	t    testing.TB
	opts *server.Options
	srv  *server.Server
}

// Start runs a server until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	opts := &server.Options{}
	if o.ConfigFile != "" {
		var err error
		if opts, err = server.ProcessConfigFile(o.ConfigFile); err != nil {
			t.Fatalf("nats-server config %s: %v", o.ConfigFile, err)
		}
	}
	opts.Host = "127.0.0.1"
	opts.Port = quietPort(t)
	opts.NoLog, opts.NoSigs = true, true
	opts.HTTPPort = 0
	if o.JetStream || (opts.JetStream && opts.StoreDir == "") {
		opts.JetStream = true
		opts.StoreDir = t.TempDir()
	}
	if o.Configure != nil {
		o.Configure(opts)
	}
	s := &Server{t: t, opts: opts}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

// quietPort picks a free loopback port below Linux's ephemeral range
// (32768 and up): the kernel never hands one of those to an outgoing
// connection, so while the server is stopped no client of this or any
// other process takes its port, and the restart finds it free. A port
// another test chose in the meantime is the one way a restart can fail.
func quietPort(t testing.TB) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free loopback port between 20000 and 32000")
	return 0
}

func (s *Server) start() {
	s.t.Helper()
	srv, err := natsserver.Run(s.opts.Clone())
	if err != nil {
		s.t.Fatal(err)
	}
	s.srv = srv
}

// URL is where clients connect.
func (s *Server) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(s.opts.Port) }

// Server is the running server, for its accounts and JetStream state.
func (s *Server) Server() *server.Server { return s.srv }

// Stop shuts the server down and waits until it is gone; a stopped server
// stays stopped.
func (s *Server) Stop() {
	if s.srv == nil {
		return
	}
	natsserver.Stop(s.srv)
	s.srv = nil
}

// Restart starts a stopped server again on its port and store.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}
