package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/control"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor"
)

// The headless face's budgets, attacked with the stock chaos plugin.
const (
	floodRecords = 1_000_000 // records the flood must have emitted before its end is judged
	rssBound     = 200 << 20 // the supervisor's resident memory while it floods
	hangBound    = 30 * time.Second
)

// floodConfig runs chaos flooding records as fast as it can and an echo
// beside it, which must keep answering.
func floodConfig(t *testing.T, tmp, chaosArgs string) string {
	t.Helper()
	self := testutil.Bin("plugvisor")
	cfg := filepath.Join(tmp, "config.toml")
	writeFile(t, cfg, fmt.Sprintf(`[agent]
work_dir = %q
[plugins.chaos]
exec = %q
args = ["plugin", "chaos"%s]
sha256 = %q
[plugins.echo]
exec = %q
args = ["plugin", "echo"]
sha256 = %q
`, filepath.Join(tmp, "w"), self, chaosArgs, sha(t, self), self, sha(t, self)))
	return cfg
}

const floodArgs = `, "--flood-rate", "2000000"`

// runHeadless starts plugvisor headless with its stdout a pipe that is
// held open and never read, so it fills and stays full, and collects its
// log.
func runHeadless(t *testing.T, tmp string, args ...string) (*exec.Cmd, *lines) {
	t.Helper()
	cmd := exec.Command(testutil.Bin("plugvisor"), append([]string{"--no-tui"}, args...)...)
	cmd.Env = demoEnv(t.TempDir(), tmp)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	defer w.Close()
	cmd.Stdout = w
	stderr := &lines{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, stderr
}

// rssSampler records the peak VmRSS of a process until stopped.
type rssSampler struct {
	peak atomic.Int64
	stop chan struct{}
	done chan struct{}
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			if rss := vmRSS(pid); rss > s.peak.Load() {
				s.peak.Store(rss)
			}
			select {
			case <-s.stop:
				return
			case <-time.After(testutil.PollInterval):
			}
		}
	}()
	return s
}

func (s *rssSampler) Peak() int64 {
	close(s.stop)
	<-s.done
	return s.peak.Load()
}

// vmRSS is a process's resident set in bytes, 0 once it is gone.
func vmRSS(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// dial connects to the running plugvisor's control socket, as ctl does.
func dial(t *testing.T, cfg string) *control.Client {
	t.Helper()
	sock := filepath.Join(filepath.Dir(cfg), "w", "plugvisor.ctl.sock")
	var c *control.Client
	testutil.WaitUntil(t, "the control socket", 30*time.Second, func() bool {
		var err error
		c, err = control.Dial(context.Background(), sock)
		return err == nil
	})
	t.Cleanup(func() { c.Close() })
	return c
}

func status(t *testing.T, api supervisor.API, instance string) supervisor.PluginStatus {
	t.Helper()
	all, err := api.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Instance == instance {
			return s
		}
	}
	t.Fatalf("no instance %s in %+v", instance, all)
	return supervisor.PluginStatus{}
}

// echoAnswers sends a task to echo with ctl, as an operator would.
func echoAnswers(t *testing.T, cfg, content string) {
	t.Helper()
	out, err := exec.Command(testutil.Bin("plugvisor"), "ctl", "--config", cfg, "send", "echo", "1", content).CombinedOutput()
	if err != nil || !strings.Contains(string(out), fmt.Sprintf("content=%q", content)) {
		t.Fatalf("echo did not answer during the flood: %v\n%s", err, out)
	}
}

// stopAndWait sends SIGTERM and waits for the exit, failing if the process
// hangs (the bound only catches a hang; it asserts nothing about speed).
func stopAndWait(t *testing.T, cmd *exec.Cmd) error {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		return err
	case <-time.After(hangBound):
		t.Fatalf("plugvisor did not exit within %v of SIGTERM", hangBound)
		return nil
	}
}

// counted finds the first line matching re and returns its number.
func counted(t *testing.T, log *lines, re *regexp.Regexp) uint64 {
	t.Helper()
	m := re.FindStringSubmatch(log.text())
	if m == nil {
		t.Fatalf("no line matching %s in:\n%s", re, log.text())
	}
	n, _ := strconv.ParseUint(m[1], 10, 64)
	return n
}

var (
	droppedWarning = regexp.MustCompile(`msg="output fell behind; records dropped" records=([1-9][0-9]*) bytes=[1-9]`)
	droppedAtExit  = regexp.MustCompile(`msg="records dropped, all told" records=([1-9][0-9]*) bytes=[1-9]`)
)

// TestHeadlessRecordFloodStaysBounded: chaos floods records while the
// output is /dev/null (as fast as the encoder goes) or a pipe nobody reads
// (nothing leaves at all). The supervisor's memory stays bounded, what is
// dropped is said with its count, and echo keeps answering.
func TestHeadlessRecordFloodStaysBounded(t *testing.T) {
	for _, tc := range []struct {
		name       string
		unreadPipe bool
	}{{"data-out /dev/null", false}, {"stdout unread pipe", true}} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			cfg := floodConfig(t, tmp, floodArgs)
			args := []string{"--config", cfg}
			if !tc.unreadPipe {
				args = append(args, "--data-out", os.DevNull)
			}
			cmd, stderr := runHeadless(t, tmp, args...)
			stderr.waitFor(t, "instance=chaos from=starting to=running", "instance=echo from=starting to=running")
			rss := sampleRSS(cmd.Process.Pid)
			api := dial(t, cfg)
			testutil.WaitUntil(t, fmt.Sprintf("%d records from chaos", floodRecords), 2*time.Minute, func() bool {
				return status(t, api, "chaos").RecordsIn >= floodRecords
			})
			echoAnswers(t, cfg, "during the flood")
			peak := rss.Peak()
			t.Logf("peak VmRSS %.1f MiB after %d records", float64(peak)/(1<<20), status(t, api, "chaos").RecordsIn)
			if peak > rssBound {
				t.Errorf("peak VmRSS %d MiB, want under %d MiB", peak>>20, rssBound>>20)
			}
			if tc.unreadPipe {
				stderr.waitFor(t, "output fell behind; records dropped")
				t.Logf("first drop warning: %d records", counted(t, stderr, droppedWarning))
			}
			if err := stopAndWait(t, cmd); err != nil {
				t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.text())
			}
			if tc.unreadPipe {
				t.Logf("dropped, all told: %d records", counted(t, stderr, droppedAtExit))
			}
		})
	}
}

// TestHeadlessStopsWithStalledOutput: stdout is a pipe nobody reads, full
// after the flood. SIGTERM still stops the plugins and the process exits,
// saying how many records it dropped.
func TestHeadlessStopsWithStalledOutput(t *testing.T) {
	tmp := t.TempDir()
	cfg := floodConfig(t, tmp, floodArgs)
	cmd, stderr := runHeadless(t, tmp, "--config", cfg)
	stderr.waitFor(t, "instance=chaos from=starting to=running", "output fell behind; records dropped")
	if err := stopAndWait(t, cmd); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.text())
	}
	stderr.waitFor(t, "instance=chaos from=stopping to=stopped", "instance=echo from=stopping to=stopped")
	t.Logf("dropped, all told: %d records", counted(t, stderr, droppedAtExit))
	waitNoLeftovers(t, cmd.Process.Pid, tmp)
}

var (
	forwardedLine = regexp.MustCompile(`msg="plugin output" instance=chaos stream=stderr line=`)
	heldLines     = regexp.MustCompile(`msg="plugin output not forwarded; the lines are in the plugin's log file" instance=chaos stream=stderr lines=([0-9]+) file=(\S+)`)
)

// TestHeadlessPluginOutputRateLimited: chaos writes many stderr lines. Its
// log file gets every one; the supervisor's own log gets a sample, and says
// how many it held back and where they are.
func TestHeadlessPluginOutputRateLimited(t *testing.T) {
	const n = 20_000
	tmp := t.TempDir()
	cfg := floodConfig(t, tmp, "")
	cmd, stderr := runHeadless(t, tmp, "--config", cfg)
	stderr.waitFor(t, "instance=chaos from=starting to=running", "instance=echo from=starting to=running")
	file := status(t, dial(t, cfg), "chaos").StderrLog
	before := len(stderr.text())
	out, err := exec.Command(testutil.Bin("plugvisor"), "ctl", "--config", cfg, "send", "chaos", "4", strconv.Itoa(n)).CombinedOutput()
	if err != nil {
		t.Fatalf("stderr task: %v\n%s", err, out)
	}
	testutil.WaitUntil(t, fmt.Sprintf("%d task lines in %s", n, file), time.Minute, func() bool {
		return countLines(t, file, "stderr task") == n
	})
	if err := stopAndWait(t, cmd); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	stderr.waitFor(t, "instance=chaos from=stopping to=stopped")
	log := stderr.text()
	forwarded := len(forwardedLine.FindAllString(log, -1))
	held := 0
	for _, m := range heldLines.FindAllStringSubmatch(log, -1) {
		k, _ := strconv.Atoi(m[1])
		held += k
		if m[2] != file {
			t.Errorf("held lines said to be in %s, want %s", m[2], file)
		}
	}
	inFile := countLines(t, file, "")
	grew, fileSize := len(log)-before, fileBytes(t, file)
	t.Logf("plugin log file %s: %d lines, %d bytes; supervisor log grew %d bytes: %d lines forwarded, %d held back", file, inFile, fileSize, grew, forwarded, held)
	switch {
	case forwarded+held != inFile && !strings.Contains(log, "events dropped"):
		t.Errorf("%d forwarded + %d held back, want every one of the %d lines in the file accounted for", forwarded, held, inFile)
	case forwarded > n/10:
		t.Errorf("%d of %d lines forwarded: not rate-limited", forwarded, n)
	case int64(grew) > fileSize/4:
		t.Errorf("the supervisor's log grew %d bytes for a plugin log of %d", grew, fileSize)
	}
}

// countLines counts the lines of path containing sub.
func countLines(t *testing.T, path, sub string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.Contains(sc.Text(), sub) {
			n++
		}
	}
	return n
}

func fileBytes(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestHeadlessStalledStderr: the supervisor's own log goes to a stderr
// nobody reads while a plugin fills it with forwarded output: the engine
// goes on (the plugins answer tasks) and SIGTERM still ends the process.
func TestHeadlessStalledStderr(t *testing.T) {
	tmp := t.TempDir()
	cfg := floodConfig(t, tmp, `, "--stderr-every", "1ms"`)
	cmd := exec.Command(testutil.Bin("plugvisor"), "--no-tui", "--config", cfg, "--data-out", os.DevNull)
	cmd.Env = demoEnv(t.TempDir(), tmp)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close() // never read
	fillPipe(t, w)  // full before plugvisor's first line: every write would wait
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	c := dial(t, cfg)
	testutil.WaitUntil(t, "echo running", 30*time.Second, func() bool {
		all, err := c.Snapshot(context.Background())
		return err == nil && len(all) == 2 && all[1].State == supervisor.StateRunning
	})
	for i := range 20 { // long after the pipe is full
		if r, err := c.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "echo", ID: 1, Content: strconv.Itoa(i)}); err != nil || !r.Outcome.OK() {
			t.Fatalf("task %d with stderr stalled: %+v, %v", i, r.Outcome, err)
		}
	}
	if err := stopAndWait(t, cmd); err != nil {
		t.Fatalf("exit after SIGTERM with stderr stalled: %v", err)
	}
}

// fillPipe writes to w until the pipe is full, and leaves it blocking.
func fillPipe(t *testing.T, w *os.File) {
	t.Helper()
	fd := int(w.Fd())
	if err := syscall.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := syscall.Write(fd, chunk); err != nil {
			if err != syscall.EAGAIN {
				t.Fatal(err)
			}
			break
		}
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		t.Fatal(err)
	}
}
