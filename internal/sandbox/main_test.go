package sandbox_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/internal/sandbox"
	"github.com/plugvisor/plugvisor/internal/testutil"
)

// The main goroutine keeps the main thread, so tests can ask for code to
// run there (onMain): RestrictThread must refuse it.
func init() { runtime.LockOSThread() }

// mainQueue carries work to the main thread; TestMain serves it.
var mainQueue = make(chan func())

func TestMain(m *testing.M) {
	code := make(chan int, 1)
	go func() { code <- testutil.Main(m, "./testdata/reach") }()
	for {
		select {
		case fn := <-mainQueue:
			fn()
		case c := <-code:
			os.Exit(c)
		}
	}
}

// onMain runs fn on the main thread and waits for it.
func onMain(fn func()) {
	done := make(chan struct{})
	mainQueue <- func() { defer close(done); fn() }
	<-done
}

// result is how one command run in the sandbox ended.
type result struct {
	stdout, stderr string
	err            error
}

func (r result) String() string {
	return "err=" + errString(r.err) + " stdout=" + strings.TrimSpace(r.stdout) + " stderr=" + strings.TrimSpace(r.stderr)
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

// runSandboxed restricts a fresh thread to spec and runs cmds from it, one
// after the other: each is forked there and so inherits the sandbox.
func runSandboxed(t *testing.T, spec sandbox.Spec, cmds ...*exec.Cmd) ([]result, []string) {
	t.Helper()
	var (
		results []result
		skipped []string
		err     error
	)
	sandbox.OnThread(func() {
		if skipped, err = sandbox.RestrictThread(spec); err != nil {
			return
		}
		for _, c := range cmds {
			results = append(results, run(c))
		}
	})
	if err != nil {
		t.Fatalf("RestrictThread: %v", err)
	}
	return results, skipped
}

func run(c *exec.Cmd) result {
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	err := c.Run()
	return result{stdout: out.String(), stderr: errOut.String(), err: err}
}

// landlock reports this kernel's support, logging it. Where there is no
// Landlock at all it checks the fallback (RestrictThread refuses with
// ErrUnavailable) and reports false: the caller has nothing more to test.
func landlock(t *testing.T) (sandbox.Support, bool) {
	t.Helper()
	s := sandbox.Probe()
	t.Logf("%s", s)
	if s.ABI > 0 {
		return s, true
	}
	var err error
	sandbox.OnThread(func() { _, err = sandbox.RestrictThread(sandbox.Base()) })
	if !errors.Is(err, sandbox.ErrUnavailable) {
		t.Fatalf("no Landlock here, yet RestrictThread = %v", err)
	}
	t.Log("no Landlock here: tested that RestrictThread refuses with ErrUnavailable")
	return s, false
}

// dirWithFile makes a directory holding a file called "file" whose content
// is the directory's base name.
func dirWithFile(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), []byte(name+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// with is Base plus ro read-only and rw read-write.
func with(ro, rw []string) sandbox.Spec {
	s := sandbox.Base()
	s.ReadOnly = append(s.ReadOnly, ro...)
	s.ReadWrite = append(s.ReadWrite, rw...)
	return s
}

func assertDenied(t *testing.T, what string, r result) {
	t.Helper()
	if r.err == nil || !strings.Contains(r.stderr, "Permission denied") {
		t.Errorf("%s: want Permission denied, got %s", what, r)
	}
}

func assertOK(t *testing.T, what string, r result, stdout string) {
	t.Helper()
	if r.err != nil || r.stdout != stdout {
		t.Errorf("%s: want success printing %q, got %s", what, stdout, r)
	}
}
