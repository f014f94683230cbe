// Package controltest runs a real supervisor with the real example plugins and a control server, for the tests of control, ctl and script.
package controltest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/control"
	"github.com/plugvisor/plugvisor/internal/unixsock"
	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/supervisor"
)

// binDir holds the example plugins built by Main. It is written once, before
// any test runs, and only read afterwards.
var binDir string

// Main builds the example plugins, runs the tests and removes the build. A
// test binary that is asked to be the supervisor's watchdog becomes it first.
func Main(m *testing.M) int {
	supervisor.RunWatchdogIfRequested()
	dir, err := os.MkdirTemp("", "pvbin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer os.RemoveAll(dir)
	build := exec.Command("go", "build", "-o", dir+"/", "github.com/plugvisor/plugvisor/examples/cmd/...")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building example plugins:", err)
		return 2
	}
	binDir = dir
	return m.Run()
}

// Bin is the path of a built example plugin: echo, chaos or ticker.
func Bin(name string) string { return filepath.Join(binDir, name) }

// Plugin is a [plugins.NAME] table running exe with its checksum.
func Plugin(t testing.TB, name, exe, extra string) string {
	t.Helper()
	f, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("[plugins.%s]\nexec = %q\nsha256 = %q\n%s\n", name, exe, hex.EncodeToString(h.Sum(nil)), extra)
}

// agentTOML paces heartbeats for tests; a hung plugin is noticed within
// heartbeat_timeout, which tests of timeouts keep longer than their own.
const agentTOML = `[agent]
name = "ctltest"
work_dir = %q
heartbeat_interval = "200ms"
heartbeat_timeout = "%s"
registration_timeout = "5s"
task_timeout = "10s"
stop_grace = "1s"
restart_burst = 3
restart_window = "1m"
`

// Options tune an Env.
type Options struct {
	HeartbeatTimeout time.Duration // default 20s, so a hung plugin stays hung for a test
	Server           func(*control.Server)
}

// Env is a running supervisor with its control server.
type Env struct {
	T      testing.TB
	Sup    *supervisor.Supervisor
	Server *control.Server
	Dir    string
	Socket string // the control socket
	Logs   *SyncBuffer

	cancel context.CancelFunc
	done   chan error
	served chan error
}

// Start runs a supervisor with plugins (TOML tables) and serves its API on
// a control socket in a fresh directory. Cleanup stops both.
func Start(t testing.TB, plugins string, opts Options) *Env {
	t.Helper()
	if opts.HeartbeatTimeout == 0 {
		opts.HeartbeatTimeout = 20 * time.Second
	}
	dir, err := os.MkdirTemp("", "pvc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfgText := fmt.Sprintf(agentTOML, dir, opts.HeartbeatTimeout) + plugins
	cfg, err := registry.Parse(filepath.Join(dir, "config.toml"), []byte(cfgText))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	self, _ := os.Executable()
	sup, err := supervisor.New(supervisor.Options{
		Config: cfg, Logger: log, WatchdogExe: self,
		BackoffBase: 20 * time.Millisecond, BackoffMax: 500 * time.Millisecond, TermGrace: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Env{T: t, Sup: sup, Dir: dir, Socket: cfg.Agent.ControlSocket, Logs: logs, cancel: cancel,
		done: make(chan error, 1), served: make(chan error, 1)}
	go func() { e.done <- sup.Run(ctx) }()
	select {
	case <-sup.Ready():
	case err := <-e.done:
		t.Fatalf("supervisor ended before ready: %v", err)
	}
	t.Cleanup(e.stop)
	e.Server = &control.Server{API: sup, Log: log}
	if opts.Server != nil {
		opts.Server(e.Server)
	}
	ln, err := unixsock.Listen(e.Socket)
	if err != nil {
		t.Fatal(err)
	}
	go func() { e.served <- e.Server.ServeListener(ctx, ln) }()
	return e
}

func (e *Env) stop() {
	e.cancel()
	for _, ch := range []chan error{e.served, e.done} {
		select {
		case err := <-ch:
			if err != nil {
				e.T.Errorf("stop: %v", err)
			}
		case <-time.After(30 * time.Second):
			e.T.Fatal("supervisor or control server did not stop")
		}
	}
}

// Dial connects a client to the control socket; cleanup closes it.
func (e *Env) Dial() *control.Client {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := control.Dial(ctx, e.Socket)
	if err != nil {
		e.T.Fatalf("dial: %v", err)
	}
	e.T.Cleanup(func() { c.Close() })
	return c
}

// Status is one instance's status.
func (e *Env) Status(id string) supervisor.PluginStatus {
	e.T.Helper()
	for _, st := range e.Sup.Snapshot() {
		if st.Instance == id {
			return st
		}
	}
	e.T.Fatalf("no instance %s", id)
	return supervisor.PluginStatus{}
}

// WaitState waits until instance id is in state want.
func (e *Env) WaitState(id string, want supervisor.State) supervisor.PluginStatus {
	e.T.Helper()
	var st supervisor.PluginStatus
	WaitUntil(e.T, id+" "+string(want), 20*time.Second, func() bool {
		st = e.Status(id)
		return st.State == want
	})
	return st
}

// WaitUntil polls cond until it holds. The deadline only bounds a hung test;
// it asserts nothing about speed.
func WaitUntil(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// SyncBuffer is a bytes.Buffer safe for a logger and a test to share.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
