package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor"
)

// nodePath is where Debian's nodejs puts node, the interpreter echo.js names.
const nodePath = "/usr/bin/node"

// TestNodePluginRegisters runs examples/node/echo.js, a plugin written from
// PROTOCOL.md alone in another language, as an operator would configure it:
// it registers, answers a task, sees its verified copy as its own path,
// leaves on shutdown with status 0, and nothing of it outlives plugvisor.
func TestNodePluginRegisters(t *testing.T) {
	// A missing node must not pass as a skip: then the document would go
	// untested on the very machine (CI) meant to test it.
	if _, err := os.Stat(nodePath); err != nil {
		t.Fatalf("%s: %v: install Debian's nodejs (apt-get install -y nodejs)", nodePath, err)
	}
	home, tmp := t.TempDir(), t.TempDir()
	script := filepath.Join(tmp, "echo.js")
	src, err := os.ReadFile(filepath.Join("examples", "node", "echo.js"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(script, 0o755); err != nil { // WriteFile's mode is subject to the umask
		t.Fatal(err)
	}
	sum := sha(t, script)
	work, cfg := filepath.Join(tmp, "w"), filepath.Join(tmp, "config.toml")
	writeFile(t, cfg, fmt.Sprintf("[agent]\nwork_dir = %q\n[plugins.nodeecho]\nexec = %q\nsha256 = %q\n", work, script, sum))

	cmd, stdout, stderr := startHeadless(t, demoEnv(home, tmp), "--config", cfg)
	stderr.waitFor(t, "instance=nodeecho from=starting to=running", "control socket listening")

	self := testutil.Bin("plugvisor")
	out, err := exec.Command(self, "ctl", "--config", cfg, "send", "nodeecho", "1", "hello").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "content=hello") || !strings.Contains(string(out), "task_status=ok") {
		t.Fatalf("task 1 was not echoed: %v\n%s", err, out)
	}

	// The record echo.js sends on welcome says what a script sees of itself.
	stdout.waitFor(t, `"data_type":"node"`)
	var seen struct {
		Plugin string            `json:"plugin"`
		Fields map[string]string `json:"fields"`
	}
	for _, l := range strings.Split(stdout.text(), "\n") {
		if strings.Contains(l, `"data_type":"node"`) {
			if err := json.Unmarshal([]byte(l), &seen); err != nil {
				t.Fatalf("record line %q: %v", l, err)
			}
			break
		}
	}
	// Node resolves /proc/self/fd/3 to the file it names: the read-only copy
	// plugvisor verified, never the configured path (which could change).
	if want := filepath.Join(work, "verified", sum, "echo.js"); seen.Plugin != "nodeecho" || seen.Fields["filename"] != want {
		t.Fatalf("__filename: got %+v, want %s", seen, want)
	}
	if got := seen.Fields["argv1"]; got != "/proc/self/fd/3" {
		t.Fatalf("process.argv[1] = %q, want /proc/self/fd/3 (PROTOCOL.md section 2)", got)
	}

	// A restart sends shutdown: the plugin must leave by itself with status
	// 0 (one that lingers is signalled, and its exit says so), then register
	// again. Its goodbye is not visible here: a stop the supervisor asked for
	// ends the same way with or without one.
	if out, err := exec.Command(self, "ctl", "--config", cfg, "restart", "nodeecho").CombinedOutput(); err != nil {
		t.Fatalf("restart: %v\n%s", err, out)
	}
	api := dial(t, cfg)
	if st := status(t, api, "nodeecho"); st.State != supervisor.StateRunning || st.LastExit.Code != 0 || st.LastExit.Signal != "" {
		t.Fatalf("after a restart: state %s, last exit %+v; want running after an exit with status 0", st.State, st.LastExit)
	}

	if err := stopAndWait(t, cmd); err != nil {
		t.Fatalf("exit after SIGTERM: %v\nstderr:\n%s", err, stderr.text())
	}
	stderr.waitFor(t, "instance=nodeecho from=stopping to=stopped")
	if left := alivePlugins(tmp); len(left) > 0 {
		t.Fatalf("plugin processes left after plugvisor exited: %v", left)
	}
}

// TestUntrustedInterpreterRefused: a script whose interpreter others could
// rewrite is refused by check, by plugvisor at load, and, if the
// interpreter becomes writable only after the config was loaded, when the
// plugin is started: then it is failed for good, since a restart would run
// into the same file.
func TestUntrustedInterpreterRefused(t *testing.T) {
	home, tmp := t.TempDir(), t.TempDir()
	shReal, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(shReal)
	if err != nil {
		t.Fatal(err)
	}
	sh := filepath.Join(tmp, "sh")
	if err := os.WriteFile(sh, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(tmp, "plugin.sh")
	writeFile(t, script, "#!"+sh+"\nexec sleep 3600\n")
	if err := os.Chmod(script, 0o755); err != nil {
		t.Fatal(err)
	}
	work, cfg := filepath.Join(tmp, "w"), filepath.Join(tmp, "config.toml")
	// auto_start off lets the test change the interpreter between the load
	// and the start.
	writeFile(t, cfg, fmt.Sprintf("[agent]\nwork_dir = %q\n[plugins.untrusted]\nexec = %q\nsha256 = %q\nauto_start = false\n",
		work, script, sha(t, script)))
	groupWritable := func() {
		t.Helper()
		if err := os.Chmod(sh, 0o775); err != nil {
			t.Fatal(err)
		}
	}
	why := sh + " is writable by group (mode -rwxrwxr-x)"
	self := testutil.Bin("plugvisor")

	groupWritable()
	out, err := exec.Command(self, "check", "--config", cfg).CombinedOutput()
	if code := exitCode(err); code != 2 || !strings.Contains(string(out), "untrusted interpreter: "+why) {
		t.Fatalf("check: exit %d, want 2 and %q in:\n%s", code, why, out)
	}
	load, _, loadErr := startHeadless(t, demoEnv(home, tmp), "--config", cfg)
	exited := make(chan error, 1)
	go func() { exited <- load.Wait() }()
	select {
	case err := <-exited:
		if code := exitCode(err); code != 2 || !strings.Contains(loadErr.text(), why) {
			t.Fatalf("plugvisor with the config: exit %d, want 2 and %q in:\n%s", code, why, loadErr.text())
		}
	case <-time.After(hangBound): // only a broken run gets here
		t.Fatalf("plugvisor ran a config whose interpreter is group-writable:\n%s", loadErr.text())
	}

	if err := os.Chmod(sh, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd, _, stderr := startHeadless(t, demoEnv(home, tmp), "--config", cfg)
	stderr.waitFor(t, "control socket listening")
	groupWritable()
	// ctl --config would load the config and refuse it as check does, so it
	// could not reach the plugvisor that loaded it before; the socket can.
	ctl := func(args ...string) ([]byte, error) {
		return exec.Command(self, append([]string{"ctl", "--socket", filepath.Join(work, "plugvisor.ctl.sock")}, args...)...).CombinedOutput()
	}
	if out, err := ctl("start", "untrusted"); exitCode(err) != 1 || !strings.Contains(string(out), why) {
		t.Fatalf("start: %v, want exit 1 naming %q:\n%s", err, why, out)
	}
	stderr.waitFor(t, "instance=untrusted from=exited to=failed")
	out, err = ctl("status", "--json")
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	var all []supervisor.PluginStatus
	if err := json.Unmarshal(out, &all); err != nil || len(all) != 1 {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	st := all[0]
	if st.State != supervisor.StateFailed || !st.NextStart.IsZero() || st.Restarts != 0 || st.PID != 0 ||
		!strings.Contains(st.LastExit.Reason, "untrusted interpreter: "+why) {
		t.Fatalf("want failed for good, never started, its last exit naming %q; got state %s, next start %v, restarts %d, pid %d, last exit %+v",
			why, st.State, st.NextStart, st.Restarts, st.PID, st.LastExit)
	}
	if strings.Contains(stderr.text(), "to=running") {
		t.Fatalf("the plugin ran:\n%s", stderr.text())
	}
	if err := stopAndWait(t, cmd); err != nil {
		t.Fatalf("exit after SIGTERM: %v\nstderr:\n%s", err, stderr.text())
	}
	if left := alivePlugins(tmp); len(left) > 0 {
		t.Fatalf("plugin processes left: %v", left)
	}
}

// TestNodePluginSandboxed runs the same Node.js plugin as nobody under a
// Landlock sandbox that lists one file, OpenSSL's configuration, which node
// reads at start and refuses to run without: the rest it needs (node and
// its libraries under /usr, the verified copy it opens by its real path,
// its own directory) plugvisor grants, and it registers and answers.
func TestNodePluginSandboxed(t *testing.T) {
	if _, err := os.Stat(nodePath); err != nil {
		t.Fatalf("%s: %v: install Debian's nodejs (apt-get install -y nodejs)", nodePath, err)
	}
	home, tmp := t.TempDir(), t.TempDir()
	openPassage(t, tmp)
	script := filepath.Join(tmp, "echo.js")
	testutil.CopyExecutable(t, filepath.Join("examples", "node", "echo.js"), script)
	work, cfg := filepath.Join(tmp, "w"), filepath.Join(tmp, "config.toml")
	writeFile(t, cfg, fmt.Sprintf("[agent]\nwork_dir = %q\n[plugins.nodeecho]\nexec = %q\nsha256 = %q\nuser = \"nobody\"\n[plugins.nodeecho.sandbox]\nread_only = [\"/etc/ssl/openssl.cnf\"]\n",
		work, script, sha(t, script)))
	cmd, _, stderr := startHeadless(t, demoEnv(home, tmp), "--config", cfg)
	stderr.waitFor(t, "instance=nodeecho from=starting to=running", "control socket listening")
	out, err := exec.Command(testutil.Bin("plugvisor"), "ctl", "--config", cfg, "send", "nodeecho", "1", "boxed").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "content=boxed") {
		t.Fatalf("the sandboxed Node.js plugin did not answer: %v\n%s\n%s", err, out, stderr.text())
	}
	st := status(t, dial(t, cfg), "nodeecho")
	if !st.Sandboxed || !strings.HasPrefix(st.User, "nobody") {
		t.Fatalf("nodeecho: sandboxed %v, user %q", st.Sandboxed, st.User)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}
