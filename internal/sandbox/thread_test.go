package sandbox_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/plugvisor/plugvisor/internal/sandbox"
)

func onMainThread() bool { return unix.Gettid() == unix.Getpid() }

func TestRestrictThreadRefusesTheMainThread(t *testing.T) {
	var (
		main bool
		err  error
	)
	onMain(func() {
		main = onMainThread()
		_, err = sandbox.RestrictThread(sandbox.Base())
	})
	if !main {
		t.Fatal("onMain did not run on the main thread")
	}
	if !errors.Is(err, sandbox.ErrMainThread) {
		t.Fatalf("RestrictThread on the main thread = %v, want ErrMainThread", err)
	}
	// Refused before anything was set: the main thread is as it was.
	status, err := os.ReadFile("/proc/self/status")
	if err != nil || !strings.Contains(string(status), "NoNewPrivs:\t0\n") {
		t.Errorf("main thread has no_new_privs after the refusal, or status unreadable (%v)", err)
	}
}

// A goroutine that is on the main thread when it asks for a thread of its
// own is given another one.
func TestOnThreadLeavesTheMainThread(t *testing.T) {
	var startedOnMain, ranOnMain bool
	done := make(chan struct{})
	onMain(func() {
		startedOnMain = onMainThread()
		sandbox.RunLocked(func() { ranOnMain = onMainThread() }, done)
	})
	<-done
	if !startedOnMain || ranOnMain {
		t.Fatalf("started on main thread %v, ran on main thread %v; want true, false", startedOnMain, ranOnMain)
	}
	var fromOnThread bool
	sandbox.OnThread(func() { fromOnThread = onMainThread() })
	if fromOnThread {
		t.Fatal("OnThread ran fn on the main thread")
	}
}

func TestRelativePathIsAnError(t *testing.T) {
	if _, ok := landlock(t); !ok {
		return
	}
	var err error
	spec := sandbox.Base()
	spec.ReadOnly = append(spec.ReadOnly, "relative/dir")
	sandbox.OnThread(func() { _, err = sandbox.RestrictThread(spec) })
	if err == nil || !strings.Contains(err.Error(), "relative/dir") {
		t.Fatalf("RestrictThread with a relative path = %v, want an error naming it", err)
	}
}

// Base is enough to start a shell and, where there is one, Python: what
// "a dynamically linked program or interpreter" needs.
func TestBaseStartsAShellAndAnInterpreter(t *testing.T) {
	if _, ok := landlock(t); !ok {
		return
	}
	cmds := []*exec.Cmd{exec.Command("/bin/sh", "-c", "echo ok; date +%Z >/dev/null")}
	// The system's own, not a shim from PATH that lives under a home.
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err == nil {
		cmds = append(cmds, exec.Command(python, "-c", "import json, time; print(json.dumps(time.gmtime(0).tm_year))"))
	} else {
		t.Log("no " + python + " here: tested the shell only")
	}
	rs, _ := runSandboxed(t, sandbox.Base(), cmds...)
	assertOK(t, "sh", rs[0], "ok\n")
	if len(rs) > 1 {
		assertOK(t, "python3", rs[1], "1970\n")
		if rs[1].stderr != "" {
			t.Errorf("python3 complained: %s", rs[1].stderr)
		}
	}
}
