package main

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/testutil"
)

// TestHistoryOfTheDemo: a running plugvisor keeps its own log (what the
// control socket beside the engine logs included, through the logger main
// hands it) and the chaos plugin's crashes with their exits, and `ctl
// history` prints them from another process.
func TestHistoryOfTheDemo(t *testing.T) {
	home, tmp := t.TempDir(), t.TempDir()
	env := demoEnv(home, tmp)
	cmd, _, _ := startHeadless(t, env)
	// chaos's crash may reach exited through stopping (its connection seen
	// to end first): wait for the history's record of it, whichever way.
	var out string
	if !testutil.Until(2*time.Minute, func() bool {
		ctl := exec.Command(testutil.Bin("plugvisor"), "ctl", "history", "-n", "500")
		ctl.Env = env
		b, _ := ctl.Output()
		out = string(b)
		return strings.Contains(out, "supervisor_log") && strings.Contains(out, "INFO control socket listening") &&
			strings.Contains(out, "state     chaos exited (was ") && strings.Contains(out, " [exit 1]")
	}) {
		t.Fatalf("ctl history lacks the log or the crash:\n%s", out)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}
