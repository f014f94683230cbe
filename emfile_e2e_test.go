package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plugvisor/plugvisor/internal/testutil"
)

// TestOutOfDescriptorsThenRecovers runs plugvisor with a low RLIMIT_NOFILE,
// fills its descriptor table with control connections until accepting
// fails with EMFILE, kills its plugin meanwhile, then lets the connections
// go: both accept loops are still serving, the plugin registers again and
// answers a task.
func TestOutOfDescriptorsThenRecovers(t *testing.T) {
	home, tmp := t.TempDir(), t.TempDir()
	self := testutil.Bin("plugvisor")
	work, cfg := echoConfig(t, tmp)
	cmd, _, stderr := startHeadless(t, demoEnv(home, tmp), "--config", cfg)
	stderr.waitFor(t, "instance=echo from=starting to=running", "control socket listening")
	pid := cmd.Process.Pid
	echoPid := pluginPid(t, work, "echo") // ctl cannot connect once descriptors run out
	lim := unix.Rlimit{Cur: uint64(openFDs(pid) + 16), Max: 4096}
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &lim, nil); err != nil {
		t.Fatal(err)
	}
	ctlSock := filepath.Join(work, "plugvisor.ctl.sock")
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range 64 { // more than the 16 free descriptors, fewer than the connection cap
		c, err := net.Dial("unix", ctlSock)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	stderr.waitFor(t, "control socket: accept failed; retrying", "too many open files")
	// The plugin socket too, with strangers waiting on it.
	for range 4 {
		c, err := net.Dial("unix", filepath.Join(work, "plugvisor.sock"))
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	stderr.waitFor(t, "plugin socket: accept failed; retrying")
	// The plugin dies while nothing can be opened: its restart fails until
	// descriptors are free again.
	if err := syscall.Kill(echoPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	stderr.waitFor(t, "instance=echo from=running")
	for _, c := range held {
		c.Close()
	}
	held = nil
	testutil.WaitUntil(t, "echo to answer a task again", 60*time.Second, func() bool {
		out, err := exec.Command(self, "ctl", "--socket", ctlSock, "send", "echo", "1", "back").CombinedOutput()
		return err == nil && strings.Contains(string(out), "back")
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// openFDs counts pid's open descriptors.
func openFDs(pid int) int {
	n := 0
	entries, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for range entries {
		n++
	}
	return n
}

// pluginPid is the pid of instance's running process, from ctl status.
func pluginPid(t *testing.T, work, instance string) int {
	t.Helper()
	var pid int
	testutil.WaitUntil(t, instance+"'s pid", 10*time.Second, func() bool {
		out, err := exec.Command(testutil.Bin("plugvisor"), "ctl", "--socket", filepath.Join(work, "plugvisor.ctl.sock"), "status", "--json").Output()
		if err != nil {
			return false
		}
		i := strings.Index(string(out), `"instance":"`+instance+`"`)
		if i < 0 {
			return false
		}
		rest := string(out)[i:]
		j := strings.Index(rest, `"pid":`)
		if j < 0 {
			return false
		}
		_, err = fmt.Sscanf(rest[j+len(`"pid":`):], "%d", &pid)
		return err == nil && pid > 0
	})
	return pid
}

// echoConfig writes a config under tmp running one echo instance from the
// plugvisor binary, and returns its work dir and path.
func echoConfig(t *testing.T, tmp string) (work, cfg string) {
	t.Helper()
	self := testutil.Bin("plugvisor")
	work, cfg = filepath.Join(tmp, "w"), filepath.Join(tmp, "config.toml")
	writeFile(t, cfg, fmt.Sprintf(`[agent]
work_dir = %q
[plugins.echo]
exec = %q
args = ["plugin", "echo"]
sha256 = %q
`, work, self, sha(t, self)))
	return work, cfg
}
