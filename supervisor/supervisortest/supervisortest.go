// Package supervisortest runs a real Supervisor with the real example plugins, for the tests of the engine and of every face built on it.
package supervisortest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/supervisor"
)

// Main builds the example plugins once for the package's tests, runs the
// tests and removes the build, whether they pass or fail. A test binary
// started as the supervisor's watchdog becomes it instead.
func Main(m *testing.M) int {
	supervisor.RunWatchdogIfRequested()
	return testutil.Main(m, "github.com/plugvisor/plugvisor/examples/cmd/...", "github.com/plugvisor/plugvisor/supervisor/testdata/anchor")
}

// Bin is the path of a built plugin: echo, ticker, chaos, or anchor (a
// minimal program that connects and exchanges a byte).
func Bin(name string) string { return testutil.Bin(name) }

// SHA256 is the hex sha256 of a file.
func SHA256(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Plugin is a [plugins.NAME] table running exe with its checksum, plus the
// extra TOML lines given.
func Plugin(t testing.TB, name, exe, extra string) string {
	t.Helper()
	return fmt.Sprintf("[plugins.%s]\nexec = %q\nsha256 = %q\n%s\n", name, exe, SHA256(t, exe), extra)
}

// ShortDir is a temporary directory removed at cleanup, with a short path:
// socket paths are limited to 107 bytes, which t.TempDir's names approach.
func ShortDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pv")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// WaitUntil polls cond until it holds. The deadline only bounds a hung test;
// it asserts nothing about speed.
func WaitUntil(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	testutil.WaitUntil(t, what, d, cond)
}

// agentDefaults pace a test supervisor: fast heartbeats and restarts, so
// tests wait on events for a short time.
var agentDefaults = map[string]string{
	"name": `"test"`, "heartbeat_interval": `"100ms"`, "heartbeat_timeout": `"1s"`,
	"registration_timeout": `"5s"`, "task_timeout": `"10s"`, "stop_grace": `"2s"`,
	"restart_burst": "3", "restart_window": `"1m"`,
}

// Options tune Start.
type Options struct {
	// Agent overrides [agent] keys, as TOML values: {"heartbeat_timeout": `"20s"`}.
	Agent map[string]string
	// Supervisor adjusts the supervisor's options before New.
	Supervisor func(*supervisor.Options)
}

// Env is a running supervisor for one test; cleanup stops it and checks
// that it stopped.
type Env struct {
	T      testing.TB
	Sup    *supervisor.Supervisor
	Dir    string
	Config *registry.Config

	cancel   context.CancelFunc
	finished chan struct{} // closed when Run has returned
	err      error         // Run's result, read after finished
	reported sync.Once
}

// AgentTOML is the [agent] table Start uses for dir, with overrides.
func AgentTOML(dir string, overrides map[string]string) string {
	kv := maps.Clone(agentDefaults)
	kv["work_dir"] = fmt.Sprintf("%q", dir)
	maps.Copy(kv, overrides)
	var b strings.Builder
	b.WriteString("[agent]\n")
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		fmt.Fprintf(&b, "%s = %s\n", k, kv[k])
	}
	return b.String()
}

// Config parses plugins (TOML tables) under a test [agent] in dir.
func Config(t testing.TB, dir, plugins string, agent map[string]string) *registry.Config {
	t.Helper()
	cfg, err := registry.Parse(filepath.Join(dir, "config.toml"), []byte(AgentTOML(dir, agent)+plugins))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// Start runs a supervisor with plugins (TOML tables) in a fresh directory
// and waits until it is ready.
func Start(t testing.TB, plugins string, opts Options) *Env {
	t.Helper()
	dir := ShortDir(t)
	cfg := Config(t, dir, plugins, opts.Agent)
	self, _ := os.Executable()
	so := supervisor.Options{
		Config: cfg, WatchdogExe: self,
		BackoffBase: 20 * time.Millisecond, BackoffMax: 500 * time.Millisecond, TermGrace: 500 * time.Millisecond,
	}
	if opts.Supervisor != nil {
		opts.Supervisor(&so)
	}
	sup, err := supervisor.New(so)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Env{T: t, Sup: sup, Dir: dir, Config: cfg, cancel: cancel, finished: make(chan struct{})}
	go func() {
		e.err = sup.Run(ctx)
		close(e.finished)
	}()
	select {
	case <-sup.Ready():
	case <-e.finished:
		t.Fatalf("supervisor ended before ready: %v", e.err)
	}
	t.Cleanup(e.Stop)
	return e
}

// Cancel asks the supervisor to stop every plugin and return, without
// waiting; Done is closed when it has.
func (e *Env) Cancel() { e.cancel() }

// Done is closed once the supervisor's Run has returned.
func (e *Env) Done() <-chan struct{} { return e.finished }

// Stop ends the supervisor and waits for every plugin to be gone; it may be
// called more than once.
func (e *Env) Stop() {
	e.cancel()
	select {
	case <-e.finished:
		e.reported.Do(func() {
			if e.err != nil {
				e.T.Errorf("Run: %v", e.err)
			}
		})
	case <-time.After(30 * time.Second):
		e.T.Fatal("supervisor did not stop")
	}
}

// Snapshot is the engine's snapshot; an error fails the test.
func (e *Env) Snapshot() []supervisor.PluginStatus {
	e.T.Helper()
	return SnapshotOf(e.T, e.Sup)
}

// Status is one instance's status.
func (e *Env) Status(id string) supervisor.PluginStatus {
	e.T.Helper()
	for _, st := range e.Snapshot() {
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

// Groups lists the process groups of the instances now running.
func (e *Env) Groups() []int {
	var out []int
	for _, st := range e.Snapshot() {
		if st.PGID > 0 {
			out = append(out, st.PGID)
		}
	}
	return out
}

// SnapshotOf is api's snapshot; an error fails the test.
func SnapshotOf(t testing.TB, api supervisor.API) []supervisor.PluginStatus {
	t.Helper()
	snap, err := api.Snapshot(context.Background())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return snap
}

// InfoOf is api's Info; an error fails the test.
func InfoOf(t testing.TB, api supervisor.API) supervisor.Info {
	t.Helper()
	info, err := api.Info(context.Background())
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	return info
}

// WaitStateEvent waits until api's History holds the change of instance
// into state, and returns it. A state in a Snapshot is set before the
// change is published, so a test that reads History after WaitState may
// find it not there yet; this waits for the event itself.
func WaitStateEvent(t testing.TB, api supervisor.API, instance string, state supervisor.State) supervisor.Event {
	t.Helper()
	var found supervisor.Event
	WaitUntil(t, fmt.Sprintf("%s's change to %s in History", instance, state), 30*time.Second, func() bool {
		evs, err := api.History(context.Background(), supervisor.HistoryQuery{Plugin: instance, Types: []supervisor.EventType{supervisor.EventState}})
		for i := len(evs) - 1; err == nil && i >= 0; i-- {
			if evs[i].Instance == instance && evs[i].State == state {
				found = evs[i]
				return true
			}
		}
		return false
	})
	return found
}
