package supervisor_test

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// A reload re-asks every running process whether the trust still
// authorises it; one it does must be left exactly as it was. Here the
// process is within its stop grace with an operator's start waiting for
// it to exit: the reload must not drop that start, which is launched once
// the process has gone, and whose caller hears how it went.
func TestReloadKeepsAStartWaitingForAnExit(t *testing.T) {
	conf := plugin(t, "bad", self(), `restart = "never"`+"\nenv = { PV_TEST_ROLE = \"garbage-stubborn\" }")
	// A long grace, so the process is still stopping when the reload
	// lands; the test ends it itself.
	grace := map[string]string{"stop_grace": `"5m"`}
	h := startHarness(t, "", func(o *supervisor.Options) {
		dir := o.Config.Agent.WorkDir
		o.Config = supervisortest.Config(t, dir, conf, grace)
		o.Reload = func() (*registry.Config, error) {
			return registry.Parse(filepath.Join(dir, "config.toml"), []byte(supervisortest.AgentTOML(dir, grace)+conf))
		}
	})
	first := h.WaitState("bad", supervisor.StateStopping)
	started := make(chan error, 1)
	go func() { started <- h.Sup.Start(context.Background(), "bad") }()
	// The start is taken once its caller waits for the reply: only then
	// is the order start, reload certain.
	supervisortest.WaitUntil(t, "the start waiting for the process to exit", 30*time.Second, func() bool {
		return parked("supervisor.(*instance).do(", "supervisor.(*Supervisor).each.func")
	})
	if err := h.Sup.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := h.Status("bad"); st.PID != first.PID || st.State != supervisor.StateStopping {
		t.Fatalf("the reload disturbed the stopping process: %+v", st)
	}
	if err := syscall.Kill(first.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-started:
	case <-time.After(60 * time.Second):
		t.Fatal("the start did not return once the process had exited")
	}
	st := h.Status("bad")
	if err != nil || st.Started.Equal(first.Started) || st.PID == first.PID {
		t.Fatalf("the start waiting for the exit was dropped by the reload: %v; %+v", err, st)
	}
	// Over: the new process ignores shutdown for the long grace.
	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	supervisortest.WaitUntil(t, "the second process gone", 30*time.Second, func() bool {
		return h.Status("bad").PID == 0
	})
}

// parked says whether a goroutine whose stack holds each of frames is
// blocked in a select.
func parked(frames ...string) bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		if !strings.Contains(header, "[select") {
			continue
		}
		all := true
		for _, f := range frames {
			all = all && strings.Contains(g, f)
		}
		if all {
			return true
		}
	}
	return false
}
