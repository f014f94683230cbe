package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/testutil"
)

// lines collects a stream line by line so a test can wait for a line. It
// is an io.Writer, given to exec.Cmd as Stdout or Stderr, so that Wait
// returns only once every line is in (a pipe read beside Wait may lose the
// last ones).
type lines struct {
	mu      sync.Mutex
	all     []string
	partial []byte
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.all = append(l.all, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
}

// waitFor waits until every want appears in some line (the deadline only
// bounds a broken run).
func (l *lines) waitFor(t testing.TB, want ...string) {
	t.Helper()
	var text, missing string
	if !testutil.Until(45*time.Second, func() bool {
		text, missing = l.text(), ""
		for _, w := range want {
			if !strings.Contains(text, w) {
				missing = w
				return false
			}
		}
		return true
	}) {
		t.Fatalf("no line with %q in:\n%s", missing, text)
	}
}

// waitCount waits until want has appeared in n lines.
func (l *lines) waitCount(t *testing.T, want string, n int) {
	t.Helper()
	var got int
	if !testutil.Until(45*time.Second, func() bool { got = strings.Count(l.text(), want); return got >= n }) {
		t.Fatalf("%q appeared %d times, want %d", want, got, n)
	}
}

// text is every line so far.
func (l *lines) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all, "\n")
}

func startHeadless(t testing.TB, env []string, args ...string) (*exec.Cmd, *lines, *lines) {
	t.Helper()
	cmd := exec.Command(testutil.Bin("plugvisor"), append([]string{"--no-tui"}, args...)...)
	cmd.Env = env
	stdout, stderr := &lines{}, &lines{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, stdout, stderr
}

// TestHeadlessDemo is `go run . --no-tui` on a fresh machine: plugins
// register, records flow as JSON lines, the crashing plugin is restarted,
// SIGTERM stops everything and exits 0, and nothing is left behind.
func TestHeadlessDemo(t *testing.T) {
	home, tmp := t.TempDir(), t.TempDir()
	cmd, stdout, stderr := startHeadless(t, demoEnv(home, tmp))
	stderr.waitFor(t, "instance=ticker from=starting to=running", "instance=echo.0 from=starting to=running",
		"instance=echo.1 from=starting to=running", "instance=chaos from=starting to=running")
	stdout.waitFor(t, `"data_type":"tick"`)
	stderr.waitFor(t, "instance=chaos from=exited to=backoff", "instance=chaos from=backoff to=starting")
	var rec struct {
		Plugin string            `json:"plugin"`
		Fields map[string]string `json:"fields"`
	}
	stdout.mu.Lock()
	err := json.Unmarshal([]byte(stdout.all[0]), &rec)
	stdout.mu.Unlock()
	if err != nil || rec.Plugin == "" || rec.Fields["data_type"] == "" {
		t.Fatalf("record line: %v %+v", err, rec)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	waitNoLeftovers(t, cmd.Process.Pid, tmp)
	if left, _ := filepath.Glob(filepath.Join(tmp, "plugvisor-demo-*")); len(left) > 0 {
		t.Fatalf("demo work dir not removed: %v", left)
	}
}

// TestSigkillLeavesNoPlugin kills the supervisor with SIGKILL, which it
// cannot catch: every plugin process, and the grandchild one of them forked,
// must be gone, killed by the watchdog.
func TestSigkillLeavesNoPlugin(t *testing.T) {
	home, tmp := t.TempDir(), t.TempDir()
	self := testutil.Bin("plugvisor")
	cfg := filepath.Join(tmp, "config.toml")
	writeFile(t, cfg, fmt.Sprintf(`[agent]
work_dir = %q
[plugins.chaos]
exec = %q
args = ["plugin", "chaos", "--spawn-child"]
sha256 = %q
[plugins.echo]
exec = %q
args = ["plugin", "echo"]
sha256 = %q
instances = 2
`, filepath.Join(tmp, "w"), self, sha(t, self), self, sha(t, self)))
	cmd, _, stderr := startHeadless(t, demoEnv(home, tmp), "--config", cfg)
	stderr.waitFor(t, "instance=chaos from=starting to=running", "instance=echo.0 from=starting to=running", "instance=echo.1 from=starting to=running")
	var plugins []string
	testutil.WaitUntil(t, "chaos, its grandchild and two echo alive", 10*time.Second, func() bool {
		plugins = alivePlugins(tmp)
		return len(plugins) >= 4 // chaos, its grandchild, two echo
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// The grandchild sleeps for 11 days and ignores its plugin's socket, so
	// its end within the bound is the watchdog's kill; the bound only stops
	// a hung test, and asserts nothing about how fast the kill is.
	var left []string
	if !testutil.Until(20*time.Second, func() bool { left = alivePlugins(tmp); return len(left) == 0 }) {
		t.Fatalf("20 s after SIGKILL of the supervisor, still alive: %v (were %v)", left, plugins)
	}
}

// alivePlugins lists processes (not zombies) whose environment points at a
// plugin socket under dir.
func alivePlugins(dir string) []string {
	var out []string
	for _, p := range leftovers(-1, dir) {
		var pid int
		fmt.Sscanf(p, "%d", &pid)
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(stat)
		if f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]); len(f) > 0 && f[0] != "Z" {
			out = append(out, p)
		}
	}
	return out
}

func TestCheckNamesFileLineKey(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	writeFile(t, bad, "[agent]\nheartbeat_interval = \"soon\"\n\n[plugins.x]\nexec = \"/bin/true\"\nrestart = \"sometimes\"\n")
	out, err := exec.Command(testutil.Bin("plugvisor"), "check", "--config", bad).CombinedOutput()
	if code := exitCode(err); code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, out)
	}
	for _, want := range []string{bad + ":2: agent.heartbeat_interval:", bad + ":6: plugins.x.restart:", bad + ":4: plugins.x.sha256:"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	good := filepath.Join(dir, "good.toml")
	writeFile(t, good, fmt.Sprintf("[agent]\nwork_dir = %q\n[plugins.t]\nexec = \"/bin/true\"\nsha256 = %q\n", dir, sha(t, "/bin/true")))
	out, err = exec.Command(testutil.Bin("plugvisor"), "check", "--config", good).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") || !strings.Contains(string(out), sha(t, "/bin/true")) {
		t.Fatalf("good config: %v\n%s", err, out)
	}
	writeFile(t, good, fmt.Sprintf("[agent]\nwork_dir = %q\n[plugins.t]\nexec = \"/bin/true\"\nsha256 = %q\n", dir, strings.Repeat("0", 64)))
	out, err = exec.Command(testutil.Bin("plugvisor"), "check", "--config", good).CombinedOutput()
	if exitCode(err) != 2 || !strings.Contains(string(out), "checksum mismatch") || !strings.Contains(string(out), good+":3: plugins.t") {
		t.Fatalf("mismatch: %v\n%s", err, out)
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func writeFile(t testing.TB, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func sha(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// TestHeadlessReloadOnSIGHUP: a new version replaces the plugin; a broken
// config is refused with its errors and changes nothing.
func TestHeadlessReloadOnSIGHUP(t *testing.T) {
	home, tmp := t.TempDir(), t.TempDir()
	self := testutil.Bin("plugvisor")
	cfg := filepath.Join(tmp, "config.toml")
	body := func(version string) string {
		return fmt.Sprintf("[agent]\nwork_dir = %q\n[plugins.echo]\nexec = %q\nargs = [\"plugin\", \"echo\"]\nsha256 = %q\nversion = %q\n",
			filepath.Join(tmp, "w"), self, sha(t, self), version)
	}
	writeFile(t, cfg, body("1.0"))
	data := filepath.Join(tmp, "records.jsonl")
	cmd, _, stderr := startHeadless(t, demoEnv(home, tmp), "--config", cfg, "--data-out", data, "--log-format", "json")
	stderr.waitFor(t, `"instance":"echo","from":"starting","to":"running"`)
	writeFile(t, cfg, body("2.0"))
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	stderr.waitFor(t, `reloaded: version 1.0 → 2.0`)
	stderr.waitCount(t, `"to":"running"`, 2) // the replacement registered
	writeFile(t, cfg, body("3.0")+"bogus = 1\n")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	stderr.waitFor(t, "reload failed", "the running configuration is kept", "plugins.echo.bogus")
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	stderr.mu.Lock()
	defer stderr.mu.Unlock()
	if n := strings.Count(strings.Join(stderr.all, "\n"), `"to":"running"`); n != 2 {
		t.Fatalf("echo ran %d times, want 2 (start, reload to 2.0)", n)
	}
}

// TestHeadlessOutputClosed: the consumer of the records goes away. That
// costs the records, not the supervisor: it says so, keeps its plugins, and
// still stops them gracefully on SIGTERM.
func TestHeadlessOutputClosed(t *testing.T) {
	home, tmp := t.TempDir(), t.TempDir()
	cmd := exec.Command(testutil.Bin("plugvisor"), "--no-tui")
	cmd.Env = demoEnv(home, tmp)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lines{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	stdout.Close()
	stderr.waitFor(t, "cannot write records; dropping them from now on")
	stderr.waitFor(t, "instance=ticker from=starting to=running")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after its output closed: %v", err)
	}
	stderr.waitFor(t, "instance=ticker from=stopping to=stopped")
	waitNoLeftovers(t, cmd.Process.Pid, tmp)
}

// TestHeadlessScript: plugvisor --script runs the script once the plugins
// are up and exits with its verdict; a failed expectation names its line.
func TestHeadlessScript(t *testing.T) {
	for _, tc := range []struct {
		expect string
		code   int
		want   string
	}{
		{`expect content == "hi"`, 0, "0 failed expectations"},
		{`expect content == "nope"`, 1, "pv.pvs:3: expect content == \"nope\""},
	} {
		home, tmp := t.TempDir(), t.TempDir()
		path := filepath.Join(tmp, "pv.pvs")
		writeFile(t, path, "wait echo running\nsend echo 1 hi\n"+tc.expect+"\n")
		cmd := exec.Command(testutil.Bin("plugvisor"), "--no-tui", "--script", path)
		cmd.Env = demoEnv(home, tmp)
		out, err := cmd.CombinedOutput()
		if code := exitCode(err); code != tc.code || !strings.Contains(string(out), tc.want) {
			t.Fatalf("%s: exit %d (want %d), output lacks %q:\n%s", tc.expect, code, tc.code, tc.want, out)
		}
		waitNoLeftovers(t, cmd.Process.Pid, tmp)
	}
}
