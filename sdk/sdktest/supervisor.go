// Package sdktest is a fake plugvisor supervisor on a real Unix socket, built only on package protocol, for testing plugins.
package sdktest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/sdk"
)

// Timeout bounds every wait in this package; reaching it fails the test. It
// is a guard against hangs, not an expectation of speed.
const Timeout = 30 * time.Second

// Supervisor listens on a Unix socket in a private temporary directory.
type Supervisor struct {
	t    testing.TB
	ln   *net.UnixListener
	path string
}

// New listens; the socket and its directory go away when the test ends.
func New(t testing.TB) *Supervisor {
	t.Helper()
	// Not t.TempDir: long test names make paths beyond the 107 bytes a Unix
	// socket path may have.
	dir, err := os.MkdirTemp("", "sdktest")
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	path := filepath.Join(dir, "plugvisor.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("sdktest: listen: %v", err)
	}
	t.Cleanup(func() {
		ln.Close()
		os.RemoveAll(dir)
	})
	return &Supervisor{t: t, ln: ln, path: path}
}

// Path is the socket path.
func (s *Supervisor) Path() string { return s.path }

// Env is what a supervisor would set for a plugin called plugin.
func (s *Supervisor) Env(plugin, instance string) sdk.Env {
	return sdk.Env{Socket: s.path, Plugin: plugin, Instance: instance}
}

// Environ is os.Environ without any PLUGVISOR_ variable, plus the ones a
// supervisor would set: the environment for a plugin subprocess.
func (s *Supervisor) Environ(plugin, instance string) []string {
	env := CleanEnviron()
	return append(env,
		protocol.EnvSocket+"="+s.path,
		protocol.EnvPlugin+"="+plugin,
		protocol.EnvInstance+"="+instance)
}

// CleanEnviron is os.Environ without any PLUGVISOR_ variable: the
// environment of a plugin a person started.
func CleanEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PLUGVISOR_") {
			env = append(env, kv)
		}
	}
	return env
}

// Close stops listening; plugins connecting later fail.
func (s *Supervisor) Close() { s.ln.Close() }

// Accept waits for a plugin to connect and reads its hello. Answer with
// Welcome or Reject.
func (s *Supervisor) Accept() *Conn {
	s.t.Helper()
	_ = s.ln.SetDeadline(time.Now().Add(Timeout))
	nc, err := s.ln.Accept()
	if err != nil {
		s.t.Fatalf("sdktest: accept: %v", err)
	}
	pc := protocol.NewConn(nc, protocol.Options{ReadTimeout: Timeout})
	s.t.Cleanup(func() { pc.Close() })
	m, err := pc.Recv()
	if err != nil {
		s.t.Fatalf("sdktest: read hello: %v", err)
	}
	hello, ok := m.(*protocol.Hello)
	if !ok {
		s.t.Fatalf("sdktest: first frame is %s, want hello", m.Kind())
	}
	return newConn(s.t, pc, *hello)
}

// Connect accepts a plugin and welcomes it with DefaultWelcome.
func (s *Supervisor) Connect() *Conn {
	s.t.Helper()
	c := s.Accept()
	c.Welcome(DefaultWelcome())
	return c
}

// DefaultWelcome is the welcome Connect sends.
func DefaultWelcome() protocol.Welcome {
	return protocol.Welcome{Protocol: protocol.Version, Heartbeat: time.Second, Supervisor: "sdktest"}
}

// Start runs p in this process against s, as plugin p.Info().Name with
// instance "test-1", signals left alone. The channel yields sdk.Run's
// result. When the test ends the run is cancelled and waited for.
func (s *Supervisor) Start(p sdk.Plugin, opts ...sdk.Option) <-chan error {
	ctx, cancel := context.WithCancel(context.Background())
	result, finished := make(chan error, 1), make(chan struct{})
	all := append([]sdk.Option{sdk.WithEnv(s.Env(p.Info().Name, "test-1")), sdk.WithSignals()}, opts...)
	go func() {
		defer close(finished)
		result <- sdk.Run(ctx, p, all...)
	}()
	s.t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(Timeout):
			s.t.Errorf("sdktest: plugin run did not end within %v of the test's end", Timeout)
		}
	})
	return result
}
