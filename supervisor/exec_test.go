package supervisor_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// TestExecutionAsDocumented holds PROTOCOL.md section 2, "How plugvisor
// executes a plugin", to what a binary and a script plugin see.
func TestExecutionAsDocumented(t *testing.T) {
	marker := filepath.Join(supervisortest.ShortDir(t), "dollar0")
	wrapper := script(t, fmt.Sprintf("echo \"$0\" > %s\nsleep 30", marker))
	h := startHarness(t, plugin(t, "ticker", supervisortest.Bin("ticker"), `args = ["--interval", "1s"]`)+
		plugin(t, "sh", wrapper, `args = ["a", "b"]`+"\nstart_timeout = \"30s\""))

	bin := h.WaitState("ticker", supervisor.StateRunning)
	if got, want := cmdline(t, bin.PID), []string{supervisortest.Bin("ticker"), "--interval", "1s"}; !slices.Equal(got, want) {
		t.Fatalf("binary argv %q, want %q", got, want)
	}
	for _, link := range []string{"exe", "fd/3"} {
		if got := readlink(t, bin.PID, link); got != "/memfd:plugvisor:ticker (deleted)" {
			t.Fatalf("binary /proc/self/%s is %q, want the sealed memfd", link, got)
		}
	}
	if got, want := readlink(t, bin.PID, "cwd"), filepath.Join(h.Dir, "plugin", "ticker"); got != want {
		t.Fatalf("working directory %q, want %q", got, want)
	}

	h.WaitState("sh", supervisor.StateStarting)
	var sh supervisor.PluginStatus
	supervisortest.WaitUntil(t, "the script's $0", 10*time.Second, func() bool {
		data, _ := os.ReadFile(marker)
		sh = h.Status("sh")
		return len(data) > 0 && sh.PID > 0
	})
	if data, _ := os.ReadFile(marker); strings.TrimSpace(string(data)) != "/proc/self/fd/3" {
		t.Fatalf("script $0 %q, want /proc/self/fd/3", data)
	}
	if got, want := cmdline(t, sh.PID), []string{"/bin/sh", "/proc/self/fd/3", "a", "b"}; !slices.Equal(got, want) {
		t.Fatalf("interpreter argv %q, want %q", got, want)
	}
	// A script's verified copy is a read-only file of the supervisor's, so
	// an interpreter that opens its script's real path (Node.js) finds it.
	got := readlink(t, sh.PID, "fd/3")
	if dir, name := filepath.Split(got); filepath.Dir(filepath.Clean(dir)) != filepath.Join(h.Dir, "verified") || name != "plugin.sh" {
		t.Fatalf("script's descriptor 3 is %q, want the verified copy <work>/verified/<sha256>/plugin.sh", got)
	}
	if st, err := os.Stat(got); err != nil || st.Mode().Perm() != 0o555 {
		t.Fatalf("verified copy %s: %v, mode %v; want 0555", got, err, st.Mode())
	}
}

func cmdline(t *testing.T, pid int) []string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
}

func readlink(t *testing.T, pid int, name string) string {
	t.Helper()
	s, err := os.Readlink(fmt.Sprintf("/proc/%d/%s", pid, name))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
