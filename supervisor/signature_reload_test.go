package supervisor_test

import (
	"context"
	"fmt"
	"os"
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

// A reload that revokes what several processes run stops them at once,
// not one after the other: each may take its stop grace and then its
// SIGTERM grace to go, and a reload that waited for them in turn would
// take the sum (and hold every other reload meanwhile). Here two signed
// processes ignore SIGTERM, with a long SIGTERM grace: both must be
// stopping together while the reload runs.
func TestReloadStopsRevokedProcessesTogether(t *testing.T) {
	bins := supervisortest.ShortDir(t)
	key := newReleaseKey(t, bins, "release")
	names := []string{"one", "two"}
	for _, name := range names {
		exe := filepath.Join(bins, name)
		if err := os.WriteFile(exe, []byte("#!/bin/sh\n# "+name+"\ntrap '' TERM\nexec sleep 600\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		key.sign(t, exe, exe+".minisig", name, "1.0.0")
	}
	config := func(revoked string) string {
		c := fmt.Sprintf("[trust]\nrequire_signature = true\nrevoked_keys = [%s]\n[trust.keys.release]\npublic_key = %q\nplugins = [\"*\"]\n", revoked, key.pub.String())
		for _, name := range names {
			c += fmt.Sprintf("[plugins.%s]\nexec = %q\nrestart = \"never\"\n", name, filepath.Join(bins, name))
		}
		return c
	}
	// They never register: the registration timeout must not end them first.
	agent := map[string]string{"registration_timeout": `"10m"`}
	next := config("")
	h := startHarness(t, "", func(o *supervisor.Options) {
		dir := o.Config.Agent.WorkDir
		o.Config = supervisortest.Config(t, dir, next, agent)
		o.Reload = func() (*registry.Config, error) {
			return registry.Parse(filepath.Join(dir, "config.toml"), []byte(supervisortest.AgentTOML(dir, agent)+next))
		}
		o.TermGrace = 10 * time.Minute
	})
	pids := map[string]int{}
	for _, name := range names {
		supervisortest.WaitUntil(t, name+" spawned", 30*time.Second, func() bool {
			pids[name] = h.Status(name).PID
			return pids[name] != 0
		})
	}
	// Whatever happens below, the processes end, and with them the reload.
	t.Cleanup(func() {
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	// An operator's start of one still registering waits for its
	// outcome: the reload's stop is that outcome.
	started := make(chan error, 1)
	go func() { started <- h.Sup.Start(context.Background(), "one") }()
	supervisortest.WaitUntil(t, "the start waiting for registration", 30*time.Second, func() bool {
		return parked("supervisor.(*instance).do(", "supervisor.(*Supervisor).each.func")
	})
	next = config(fmt.Sprintf("%q", key.id()))
	reloaded := make(chan error, 1)
	go func() { reloaded <- h.Sup.Reload(context.Background()) }()
	supervisortest.WaitUntil(t, "both revoked processes stopping at once", 30*time.Second, func() bool {
		return h.Status("one").State == supervisor.StateStopping && h.Status("two").State == supervisor.StateStopping
	})
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-reloaded:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the reload did not return once the processes were gone")
	}
	if err := <-started; err == nil || !strings.Contains(err.Error(), "one: failed: reloaded: no longer authorised: ") {
		t.Errorf("the start waiting for registration: %v", err)
	}
	for _, name := range names {
		want := "reloaded: no longer authorised: " + filepath.Join(bins, name) + ": revoked key: the running process was signed by key " + key.id()
		if st := h.Status(name); st.State != supervisor.StateFailed || !strings.HasPrefix(st.Reason, want) {
			t.Errorf("%s: %s %q; want failed, %q", name, st.State, st.Reason, want)
		}
	}
}
