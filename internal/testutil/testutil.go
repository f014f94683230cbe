// Package testutil is support for plugvisor's tests: the one poll-until
// helper every package's tests use, and the one build of the programs a
// package's tests run (the example plugins, the plugvisor binary).
package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PollInterval is the pause between two checks of a polled condition.
const PollInterval = 10 * time.Millisecond

// Until checks cond every PollInterval until it holds or d has passed, and
// reports whether it held. d only bounds a hung test; it asserts nothing
// about speed. For callers with their own failure message; WaitUntil fails
// the test itself.
func Until(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(PollInterval)
	}
	return true
}

// WaitUntil polls cond until it holds, and fails the test, naming what it
// waited for, if it has not after d (a bound on a hung test, not a claim
// about speed). cond runs on the caller's goroutine, so it may fail the
// test itself.
func WaitUntil(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	if !Until(d, cond) {
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
}

// buildPrefix names the directories Build creates, followed by the pid of
// the test process that owns one (see sweep).
const buildPrefix = "plugvisor-testbin-"

// Bins is a build of main packages, in a private temporary directory.
type Bins struct{ dir string }

// Build builds the main packages pkgs (import paths or patterns, as for go
// build) into a fresh temporary directory; Remove deletes it. It first
// removes the builds that test processes which died without cleaning up
// (a panic, a -timeout, a signal) left behind.
func Build(pkgs ...string) (*Bins, error) {
	sweep()
	dir, err := os.MkdirTemp("", buildPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("go", append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("go build %s: %v\n%s", strings.Join(pkgs, " "), err, out)
	}
	return &Bins{dir: dir}, nil
}

// Path is the built program called name (a package's last element).
func (b *Bins) Path(name string) string { return filepath.Join(b.dir, name) }

// Remove deletes the build.
func (b *Bins) Remove() { os.RemoveAll(b.dir) }

// sweep removes the builds of test processes that are gone. A build's name
// carries its owner's pid, alive for as long as the build is in use.
func sweep() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), buildPrefix+"*"))
	for _, dir := range dirs {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(dir), buildPrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			os.RemoveAll(dir)
		}
	}
}

// built is the build Main made for this test process.
var built *Bins

// Main builds the main packages pkgs once for this test process, runs the
// tests, and removes the build whether they pass or fail; it returns the
// exit code for os.Exit. A failed build fails the run before any test.
func Main(m *testing.M, pkgs ...string) int {
	b, err := Build(pkgs...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "building the test programs:", err)
		return 2
	}
	defer b.Remove()
	built = b
	return m.Run()
}

// Bin is the program called name that Main built.
func Bin(name string) string {
	if built == nil {
		panic("testutil.Bin: the package's TestMain did not call testutil.Main")
	}
	return built.Path(name)
}
