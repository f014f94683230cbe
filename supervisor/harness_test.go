package supervisor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/registry"
)

// harness runs a real Supervisor over a real socket for one test.
type harness struct {
	t      testing.TB
	sup    *Supervisor
	dir    string
	cancel context.CancelFunc
	done   chan error
}

// agentTOML is a fast-paced agent section for tests; the tests wait on
// events, never on these durations directly.
const agentTOML = `[agent]
name = "test"
work_dir = %q
heartbeat_interval = "100ms"
heartbeat_timeout = "1s"
registration_timeout = "2s"
task_timeout = "5s"
stop_grace = "2s"
restart_burst = 3
restart_window = "1m"
`

func plugin(t testing.TB, name, exe, extra string) string {
	return fmt.Sprintf("[plugins.%s]\nexec = %q\nsha256 = %q\n%s\n", name, exe, fileSHA(t, exe), extra)
}

// shortDir keeps socket paths well under the 107-byte limit, which
// t.TempDir's long names can approach.
func shortDir(t testing.TB) string {
	dir, err := os.MkdirTemp("", "pv")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func parseConfig(t testing.TB, dir, plugins string) *registry.Config {
	t.Helper()
	cfg, err := registry.Parse(filepath.Join(dir, "config.toml"), []byte(fmt.Sprintf(agentTOML, dir)+plugins))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

func startHarness(t testing.TB, plugins string, tweak ...func(*Options)) *harness {
	t.Helper()
	dir := shortDir(t)
	opts := Options{
		Config: parseConfig(t, dir, plugins), WatchdogExe: bins.self,
		BackoffBase: 20 * time.Millisecond, BackoffMax: 500 * time.Millisecond, TermGrace: 500 * time.Millisecond,
	}
	for _, f := range tweak {
		f(&opts)
	}
	sup, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, sup: sup, dir: dir, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- sup.Run(ctx) }()
	select {
	case <-sup.Ready():
	case err := <-h.done:
		t.Fatalf("supervisor ended before ready: %v", err)
	}
	t.Cleanup(h.stop)
	return h
}

// stop shuts the supervisor down and checks that nothing it started is left:
// no child process (zombie or alive) and no member of any plugin group.
func (h *harness) stop() {
	groups := h.groups()
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		h.t.Fatal("supervisor did not stop")
	}
	for _, g := range groups {
		if pids := groupMembers(g); len(pids) > 0 {
			h.t.Errorf("process group %d still has members %v after stop", g, pids)
		}
	}
	if kids := children(os.Getpid()); len(kids) > 0 {
		h.t.Errorf("children left after stop: %v", kids)
	}
}

func (h *harness) groups() []int {
	var out []int
	for _, st := range h.sup.Snapshot() {
		if st.PGID > 0 {
			out = append(out, st.PGID)
		}
	}
	return out
}

func (h *harness) status(id string) PluginStatus {
	for _, st := range h.sup.Snapshot() {
		if st.Instance == id {
			return st
		}
	}
	h.t.Fatalf("no instance %s", id)
	return PluginStatus{}
}

func (h *harness) waitState(id string, want State) PluginStatus {
	h.t.Helper()
	var st PluginStatus
	waitUntil(h.t, id+" "+string(want), 20*time.Second, func() bool {
		st = h.status(id)
		return st.State == want
	})
	return st
}

// groupMembers lists live processes (not zombies already reaped by us) in pgid.
func groupMembers(pgid int) []string {
	// fields[2] is stat field 5, pgrp.
	return scanProc(func(fields []string) bool { return fields[2] == fmt.Sprint(pgid) })
}

// children lists processes whose parent is pid, except the watchdog, which
// belongs to the test binary's own lifetime.
func children(pid int) []string {
	// fields[1] is stat field 4, ppid.
	return scanProc(func(fields []string) bool { return fields[1] == fmt.Sprint(pid) })
}

// scanProc returns "pid:state" of processes whose stat fields (from field 3,
// state, on) satisfy match.
func scanProc(match func(fields []string) bool) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) > 3 && match(fields) && !isWatchdog(e.Name()) {
			out = append(out, e.Name()+":"+fields[0])
		}
	}
	return out
}

func isWatchdog(pid string) bool {
	env, _ := os.ReadFile("/proc/" + pid + "/environ")
	return strings.Contains(string(env), WatchdogEnv+"=1")
}

type registryConfig = registry.Config

func parseConfigErr(dir, plugins string) (*registry.Config, error) {
	return registry.Parse(filepath.Join(dir, "config.toml"), []byte(fmt.Sprintf(agentTOML, dir)+plugins))
}
