package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/testutil"
)

// TestInheritedFDNotPassedToPlugins starts plugvisor with a root-only file
// open on a descriptor that is not close-on-exec, as a careless parent
// (an operator's shell, an init script) may: neither the plugins nor the
// watchdog may hold it.
func TestInheritedFDNotPassedToPlugins(t *testing.T) {
	home, tmp := t.TempDir(), t.TempDir()
	secret := filepath.Join(tmp, "secret")
	writeFile(t, secret, "root only\n")
	if err := os.Chmod(secret, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(secret)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	self := testutil.Bin("plugvisor")
	_, cfg := echoConfig(t, tmp)
	cmd := exec.Command(self, "--no-tui", "--config", cfg)
	cmd.Env = demoEnv(home, tmp)
	cmd.ExtraFiles = []*os.File{f} // fd 3 in plugvisor, without close-on-exec
	logs := &lines{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	logs.waitFor(t, "instance=echo from=starting to=running")
	if !holds(cmd.Process.Pid, secret) {
		t.Fatalf("the premise: plugvisor itself should hold %s on fd 3", secret)
	}
	var started []int
	testutil.WaitUntil(t, "the plugin and the watchdog", 10*time.Second, func() bool {
		started = descendants(cmd.Process.Pid)
		return len(started) >= 2 // the plugin and the watchdog
	})
	for _, pid := range started {
		if holds(pid, secret) {
			t.Errorf("pid %d (%s), started by plugvisor, holds the inherited %s", pid, comm(pid), secret)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

// holds reports whether pid has path open.
func holds(pid int, path string) bool {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && target == path {
			return true
		}
	}
	return false
}

// descendants lists the processes whose parent is pid.
func descendants(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var child int
		if _, err := fmt.Sscanf(e.Name(), "%d", &child); err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		if err != nil {
			continue
		}
		s := string(stat)
		var ppid int
		if f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]); len(f) > 1 {
			fmt.Sscanf(f[1], "%d", &ppid)
		}
		if ppid == pid {
			out = append(out, child)
		}
	}
	return out
}

func comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}
