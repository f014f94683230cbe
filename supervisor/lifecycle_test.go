package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(supervisortest.ShortDir(t), "plugin.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}

// A second Start while the first is still waiting for registration waits
// for the same outcome instead of claiming success.
func TestStartWhileStartingWaits(t *testing.T) {
	h := startHarness(t, plugin(t, "mute", script(t, "exec sleep 30"), `start_timeout = "300ms"`+"\nauto_start = false\nrestart = \"never\""))
	first := make(chan error, 1)
	go func() { first <- h.Sup.Start(context.Background(), "mute") }()
	h.WaitState("mute", supervisor.StateStarting)
	second := h.Sup.Start(context.Background(), "mute")
	if second == nil || !strings.Contains(second.Error(), "did not register within 300ms") {
		t.Fatalf("second Start = %v; want the registration failure", second)
	}
	if err := <-first; err == nil || !strings.Contains(err.Error(), "did not register") {
		t.Fatalf("first Start = %v", err)
	}
}

// A process that moves itself into a starting plugin's process group (any
// process of the session may) is still not that plugin: it does not descend
// from the process the supervisor started.
func TestGroupJoinerRejected(t *testing.T) {
	h := startHarness(t, plugin(t, "slow", script(t, "exec sleep 30"), `start_timeout = "30s"`))
	st := h.WaitState("slow", supervisor.StateStarting)
	supervisortest.WaitUntil(t, "pid", 5*time.Second, func() bool { st = h.Status("slow"); return st.PGID > 0 })
	cmd := exec.Command(self())
	cmd.Env = append(os.Environ(), "PV_TEST_ROLE=joiner", "PV_TEST_PGID="+strconv.Itoa(st.PGID),
		protocol.EnvSocket+"="+filepath.Join(h.Dir, "plugvisor.sock"), protocol.EnvPlugin+"=slow", protocol.EnvInstance+"=slow")
	out, _ := cmd.Output()
	if !strings.Contains(string(out), "rejected: credentials") || !strings.Contains(string(out), "does not descend") {
		t.Fatalf("joiner got %q", out)
	}
	if got := h.Status("slow"); got.State != supervisor.StateStarting || got.PID != st.PID {
		t.Fatalf("the real plugin was disturbed: %s", got.State)
	}
}

// A plugin's orphaned child becomes the supervisor's (it is a subreaper)
// and is reaped when it exits, while the plugin still runs.
func TestAdoptedOrphansReapedWhileRunning(t *testing.T) {
	marker := filepath.Join(supervisortest.ShortDir(t), "orphan.pid")
	body := fmt.Sprintf("( sleep 0.3 & echo $! > %s )\nexec sleep 30", marker)
	h := startHarness(t, plugin(t, "forker", script(t, body), `start_timeout = "30s"`), func(o *supervisor.Options) {
		o.StatsInterval = 20 * time.Millisecond
	})
	h.WaitState("forker", supervisor.StateStarting)
	var orphan int
	supervisortest.WaitUntil(t, "the orphan adopted", 10*time.Second, func() bool {
		data, _ := os.ReadFile(marker)
		orphan, _ = strconv.Atoi(strings.TrimSpace(string(data)))
		return orphan > 0 && len(scanProc(func(f []string) bool { return f[1] == strconv.Itoa(os.Getpid()) })) > 0
	})
	supervisortest.WaitUntil(t, "the orphan reaped", 10*time.Second, func() bool {
		_, err := os.Stat(fmt.Sprintf("/proc/%d", orphan))
		return errors.Is(err, os.ErrNotExist)
	})
	if st := h.Status("forker"); st.State != supervisor.StateStarting {
		t.Fatalf("the plugin was disturbed: %s", st.State)
	}
}

// Reloads may race (SIGHUP and ctl at once): each instance still exists
// exactly once, as one process.
func TestConcurrentReloadsAddOnce(t *testing.T) {
	var next string
	var mu sync.Mutex
	h := startHarness(t, "", func(o *supervisor.Options) {
		load := reloadFrom(o.Config.Agent.WorkDir, &next)
		o.Reload = func() (*registry.Config, error) { mu.Lock(); defer mu.Unlock(); return load() }
	})
	mu.Lock()
	next = plugin(t, "echo", supervisortest.Bin("echo"), "instances = 2")
	mu.Unlock()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := h.Sup.Reload(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	h.WaitState("echo.0", supervisor.StateRunning)
	h.WaitState("echo.1", supervisor.StateRunning)
	if n := len(h.Snapshot()); n != 2 {
		t.Fatalf("%d instances, want 2", n)
	}
	if n := len(children(os.Getpid())); n != 2 {
		t.Fatalf("%d plugin processes, want 2", n)
	}
}

// A reload that would move the sockets or the work dir is refused whole:
// plugins would be pointed at a socket nobody listens on.
func TestReloadRefusesMovingSockets(t *testing.T) {
	var next string
	h := startHarness(t, plugin(t, "echo", supervisortest.Bin("echo"), ""), func(o *supervisor.Options) {
		dir := o.Config.Agent.WorkDir
		o.Reload = func() (*registry.Config, error) {
			cfg, err := reloadFrom(dir, &next)()
			if err == nil {
				cfg.Agent.Socket = filepath.Join(dir, "elsewhere.sock")
			}
			return cfg, err
		}
	})
	old := h.WaitState("echo", supervisor.StateRunning)
	next = plugin(t, "echo", supervisortest.Bin("echo"), `version = "2"`)
	err := h.Sup.Reload(context.Background())
	if err == nil || !strings.Contains(err.Error(), "agent.socket changed") || !strings.Contains(err.Error(), "kept") {
		t.Fatalf("reload moving the socket: %v", err)
	}
	if st := h.Status("echo"); st.PID != old.PID || st.Version != "" {
		t.Fatalf("the refused reload changed the plugin: pid %d→%d version %q", old.PID, st.PID, st.Version)
	}
}

func TestReloadBeforeRunRefused(t *testing.T) {
	dir := supervisortest.ShortDir(t)
	cfg := supervisortest.Config(t, dir, "", nil)
	sup, err := supervisor.New(supervisor.Options{Config: cfg, Reload: func() (*registry.Config, error) { return cfg, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := sup.Reload(context.Background()); !errors.Is(err, supervisor.ErrNotStarted) {
		t.Fatalf("Reload before Run: %v", err)
	}
	if _, err := sup.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "x", ID: 1, Content: ""}); !errors.Is(err, supervisor.ErrUnknownPlugin) {
		t.Fatalf("SendTask before Run: %v", err)
	}
}

// A plugin that pings without ever reading its pongs fills the supervisor's
// write side; the supervisor must keep reading what the plugin sends (its
// read loop never writes), so the record after the pings arrives.
func TestReadLoopNeverWaitsOnWrites(t *testing.T) {
	h := startHarness(t, plugin(t, "flood", self(), "env = { PV_TEST_ROLE = \"pingflood\" }\nrestart = \"never\""), func(o *supervisor.Options) {
		o.Config.Agent.HeartbeatTimeout = 30 * time.Second // the write deadline: longer than the test
	})
	events, cancel, _ := h.Sup.Subscribe(context.Background(), 1<<16)
	defer cancel()
	h.WaitState("flood", supervisor.StateRunning)
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Type == supervisor.EventRecords && ev.Records[0].DataType() == "after-pings" {
				return
			}
		case <-deadline:
			t.Fatalf("the record after 50,000 unanswered pings never arrived: %s", h.Status("flood").Reason)
		}
	}
}
