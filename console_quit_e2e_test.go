package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// TestConsoleSecondCtrlCLeavesNow: a plugin that ignores SIGTERM under an
// hour's stop grace keeps the graceful stop going for that hour. A second
// ctrl+c in the stop progress must end plugvisor now, not leave it waiting
// for the engine on a blank terminal, and the plugin must still be killed
// (by the watchdog, as plugvisor exits).
func TestConsoleSecondCtrlCLeavesNow(t *testing.T) {
	bin := testutil.Bin("plugvisor")
	tmp, home := shortTemp(t, "pvq")
	config := filepath.Join(tmp, "config.toml")
	toml := supervisortest.AgentTOML(filepath.Join(tmp, "work"), map[string]string{
		"stop_grace": `"1h"`, "control_socket": fmt.Sprintf("%q", filepath.Join(tmp, "ctl.sock")),
	}) + fmt.Sprintf("[plugins.stubborn]\nexec = %q\nargs = [\"plugin\", \"chaos\", \"--ignore-term\"]\nsha256 = %q\n",
		bin, supervisortest.SHA256(t, bin))
	if err := os.WriteFile(config, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "--config", config)
	cmd.Env = demoEnv(home, tmp)
	term := startInPty(t, cmd, 100, 30)
	term.waitScreen(t, "stubborn running", func(s string) bool { return rowHas(s, "stubborn", "● running") })
	term.send(t, "q")
	term.waitFor(t, "Stop it and quit?")
	term.send(t, "y")
	term.waitFor(t, "Stopping plugins", "ctrl+c leaves without waiting")
	term.send(t, "\x03")
	// The deadline bounds a hung test; the graceful stop would take an hour.
	if err := term.wait(60 * time.Second); err == nil || err.Error() == "timed out" {
		t.Fatalf("plugvisor did not leave at once (%v); last screen:\n%s", err, term.screen())
	}
	// Said as it will happen: the watchdog runs here, so it kills them.
	term.waitFor(t, "left without waiting for the plugins to stop", "the watchdog kills them")
	waitNoLeftovers(t, cmd.Process.Pid, tmp)
}

// TestLeftEarlyWords: without a watchdog, leaving early does not promise
// that the plugins are killed.
func TestLeftEarlyWords(t *testing.T) {
	if w := leftEarlyWords(false); strings.Contains(w, "kill") || !strings.Contains(w, "no watchdog") {
		t.Errorf("without a watchdog: %q", w)
	}
	if w := leftEarlyWords(true); !strings.Contains(w, "watchdog kills them") {
		t.Errorf("with a watchdog: %q", w)
	}
}

// rowHas reports whether name's row in the plugins table holds want.
func rowHas(screen, name, want string) bool {
	l := rowLine(screen, name)
	return l != "" && strings.Contains(l, want)
}

// rowLine is name's row of the plugins table, cut at the table's border:
// in the wide layout the at-a-glance pane beside it names pids and the
// selected instance too.
func rowLine(s, name string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimLeft(strings.TrimPrefix(strings.TrimPrefix(l, "│"), " ✓"), " "), name+" ") {
			l, _, _ = strings.Cut(l, "││")
			return l
		}
	}
	return ""
}
