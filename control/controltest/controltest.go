// Package controltest runs a real supervisor with the real example plugins and a control server, for the tests of control, ctl and script.
package controltest

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/control"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/internal/unixsock"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// Main builds the example plugins, runs the tests and removes the build.
func Main(m *testing.M) int { return supervisortest.Main(m) }

// Bin is the path of a built example plugin: echo, chaos or ticker.
func Bin(name string) string { return supervisortest.Bin(name) }

// Plugin is a [plugins.NAME] table running exe with its checksum.
func Plugin(t testing.TB, name, exe, extra string) string {
	return supervisortest.Plugin(t, name, exe, extra)
}

// WaitUntil polls cond until it holds; the deadline only bounds a hung test.
func WaitUntil(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	testutil.WaitUntil(t, what, d, cond)
}

// Options tune an Env.
type Options struct {
	HeartbeatTimeout time.Duration // default 20s, so a hung plugin stays hung for a test
	Server           func(*control.Server)
}

// Env is a running supervisor with its control server.
type Env struct {
	*supervisortest.Env
	Server *control.Server
	Socket string // the control socket
	Logs   *SyncBuffer

	cancel  context.CancelFunc
	served  chan error
	stopped sync.Once
}

// Start runs a supervisor with plugins (TOML tables) and serves its API on
// a control socket in a fresh directory. Cleanup stops both.
func Start(t testing.TB, plugins string, opts Options) *Env {
	t.Helper()
	if opts.HeartbeatTimeout == 0 {
		opts.HeartbeatTimeout = 20 * time.Second
	}
	logs := &SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	se := supervisortest.Start(t, plugins, supervisortest.Options{
		Agent: map[string]string{
			"name": `"ctltest"`, "heartbeat_interval": `"200ms"`, "stop_grace": `"1s"`,
			"heartbeat_timeout": fmt.Sprintf("%q", opts.HeartbeatTimeout),
		},
		Supervisor: func(o *supervisor.Options) { o.Logger = log },
	})
	ctx, cancel := context.WithCancel(context.Background())
	e := &Env{Env: se, Socket: se.Config.Agent.ControlSocket, Logs: logs, cancel: cancel, served: make(chan error, 1)}
	e.Server = &control.Server{API: se.Sup, Log: log}
	if opts.Server != nil {
		opts.Server(e.Server)
	}
	ln, err := unixsock.Listen(e.Socket)
	if err != nil {
		t.Fatal(err)
	}
	go func() { e.served <- e.Server.ServeListener(ctx, ln) }()
	t.Cleanup(e.StopServer) // runs before the supervisor's own cleanup
	return e
}

// StopServer stops the control server, which closes every client's
// connection, and waits for it; the supervisor runs on. Cleanup calls it
// too; calls after the first do nothing.
func (e *Env) StopServer() {
	e.stopped.Do(func() { stopServer(e.T, e.cancel, e.served) })
}

func stopServer(t testing.TB, cancel context.CancelFunc, served <-chan error) {
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("control server: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("control server did not stop")
	}
}

// ServeAPI serves api, any implementation of supervisor.API, on a control
// socket in a fresh directory and returns the socket's path and a stop that
// closes the server and every client's connection (cleanup calls it too;
// later calls do nothing); configure, if not nil, sets the server's fields
// before it starts. For a real engine whose server must go away mid-test,
// and for conditions the engine cannot produce on demand (a burst already
// queued, an operation that never returns).
func ServeAPI(t testing.TB, api supervisor.API, configure func(*control.Server)) (socket string, stop func()) {
	t.Helper()
	socket = filepath.Join(supervisortest.ShortDir(t), "ctl.sock")
	srv := &control.Server{API: api}
	if configure != nil {
		configure(srv)
	}
	ln, err := unixsock.Listen(socket)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.ServeListener(ctx, ln) }()
	var once sync.Once
	stop = func() { once.Do(func() { stopServer(t, cancel, served) }) }
	t.Cleanup(stop)
	return socket, stop
}

// DialSocket connects a client to the control socket at path; cleanup
// closes it.
func DialSocket(t testing.TB, path string) *control.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := control.Dial(ctx, path)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Dial connects a client to the control socket; cleanup closes it.
func (e *Env) Dial() *control.Client {
	e.T.Helper()
	return DialSocket(e.T, e.Socket)
}

// SyncBuffer is a bytes.Buffer safe for a logger and a test to share.
type SyncBuffer = testutil.SyncBuffer

// SnapshotOf is api's snapshot; an error fails the test.
func SnapshotOf(t testing.TB, api supervisor.API) []supervisor.PluginStatus {
	t.Helper()
	return supervisortest.SnapshotOf(t, api)
}

// InfoOf is api's Info; an error fails the test.
func InfoOf(t testing.TB, api supervisor.API) supervisor.Info {
	t.Helper()
	return supervisortest.InfoOf(t, api)
}
