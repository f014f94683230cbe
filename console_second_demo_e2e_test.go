package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/internal/testutil"
)

// TestSecondDemoConsole: two demo consoles at once. The second cannot
// have the demo's fixed control socket; it serves beside it, says so on
// screen naming the first one's pid, and ctl reaches each: the first by
// default, the second with --socket, and by default once the first is
// gone.
func TestSecondDemoConsole(t *testing.T) {
	bin := testutil.Bin("plugvisor")
	tmp, home := shortTemp(t, "pv2")
	env := append(demoEnv(home, tmp), "XDG_RUNTIME_DIR="+filepath.Join(tmp, "run"))

	first := exec.Command(bin)
	first.Env = env
	a := startInPty(t, first, 120, 40)
	a.waitScreen(t, "the first demo running", func(s string) bool { return strings.Contains(s, "● 4 running") })

	second := exec.Command(bin)
	second.Env = env
	b := startInPty(t, second, 120, 40)
	b.waitScreen(t, "the second demo running", func(s string) bool { return strings.Contains(s, "running") })
	own := "demo-" + strconv.Itoa(second.Process.Pid) + ".ctl.sock"
	b.waitFor(t, "⚠ ctl socket: "+own)
	// The full story is in the message history.
	b.send(t, "m")
	b.waitScreen(t, "the first demo's pid", func(s string) bool {
		flat := strings.Join(strings.Fields(strings.ReplaceAll(s, "│", " ")), " ")
		return strings.Contains(flat, "(pid "+strconv.Itoa(first.Process.Pid)+")") && strings.Contains(flat, "Messages")
	})
	b.send(t, "m")

	ctl := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"ctl"}, args...)...)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("ctl %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	if out := ctl("info"); !strings.Contains(out, strconv.Itoa(first.Process.Pid)) {
		t.Errorf("plain ctl did not reach the first demo (pid %d):\n%s", first.Process.Pid, out)
	}
	sock := filepath.Join(tmp, "run", "plugvisor", own)
	if out := ctl("--socket", sock, "info"); !strings.Contains(out, strconv.Itoa(second.Process.Pid)) {
		t.Errorf("ctl --socket %s did not reach the second demo (pid %d):\n%s", sock, second.Process.Pid, out)
	}

	a.quitStopping(t) // the first demo
	if out := ctl("info"); !strings.Contains(out, strconv.Itoa(second.Process.Pid)) {
		t.Errorf("with the first demo gone, plain ctl did not find the second (pid %d):\n%s", second.Process.Pid, out)
	}
	b.quitStopping(t) // the second
}
