package supervisor_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/cgroup"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// TestRestartsLiveInTheirCgroup starts and stops one instance three times.
// The kernel kills a process cloned into a cgroup2 group that was killed
// before, so every run must be born in a fresh cgroup2 directory, and live.
func TestRestartsLiveInTheirCgroup(t *testing.T) {
	h := startHarness(t, plugin(t, "echo", supervisortest.Bin("echo"), "auto_start = false"))
	seen := map[string]bool{}
	for i := range 3 {
		if err := h.Sup.Start(context.Background(), "echo"); err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		st := h.Status("echo")
		if _, err := h.Sup.Ping(context.Background(), "echo"); err != nil {
			t.Fatalf("run %d does not answer: %v", i, err)
		}
		if st.Cgroup != "" {
			if seen[st.Cgroup] {
				t.Fatalf("run %d reuses cgroup %s", i, st.Cgroup)
			}
			seen[st.Cgroup] = true
		}
		if err := h.Sup.Stop(context.Background(), "echo"); err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) == 0 {
		// Only where the machine has none: a machine with cgroups must give
		// every run one.
		if l, err := cgroup.Detect(); err == nil && l.Mode != cgroup.ModeNone {
			t.Fatalf("cgroups here (%s), yet no run had one", l.Describe())
		}
		t.Log("no cgroups on this machine: tested restarts by process group only")
	}
}

// TestStartWhileStopping asks for a start while the instance's process is
// still within its stop grace (it sent a bad frame and does not leave).
// The start waits for that process to exit and only then launches: two
// processes of one instance never run at once, and the instance neither
// wedges (its forking thread waits for one process at a time) nor breaks
// its cgroup, with cgroups or without.
func TestStartWhileStopping(t *testing.T) {
	for _, noCgroups := range []bool{false, true} {
		t.Run(map[bool]string{false: "cgroup", true: "process-group"}[noCgroups], func(t *testing.T) {
			h := startHarness(t, plugin(t, "bad", self(), `restart = "never"`+"\nenv = { PV_TEST_ROLE = \"garbage-stubborn\" }"),
				func(o *supervisor.Options) { o.NoCgroups = noCgroups })
			first := h.WaitState("bad", supervisor.StateStopping)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			err := h.Sup.Start(ctx, "bad")
			if ctx.Err() != nil {
				t.Fatalf("Start while stopping did not return: %v", err)
			}
			st := h.Status("bad")
			if len(st.Exits) == 0 || st.Exits[0].Signal != "killed" {
				t.Fatalf("the first process (pid %d) did not end before the next start: exits %+v", first.PID, st.Exits)
			}
			if st.PID == first.PID {
				t.Fatalf("no new process after the start (pid %d)", st.PID)
			}
			t.Logf("start while stopping: %v; exits %d, state %s", err, len(st.Exits), st.State)
			if err := h.Sup.Stop(ctx, "bad"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestWatchdogRestartedThenGivenUp kills the watchdog: the supervisor
// starts another each time, until it has died more than five times within
// a minute; then it is not started again, and Info says there is none.
func TestWatchdogRestartedThenGivenUp(t *testing.T) {
	h := startHarness(t, plugin(t, "echo", supervisortest.Bin("echo"), ""))
	ctx := context.Background()
	for i := range 6 {
		info, err := h.Sup.Info(ctx)
		if err != nil || info.WatchdogPID == 0 || info.WatchdogRestarts != i {
			t.Fatalf("before kill %d: watchdog pid %d, restarts %d, %v", i+1, info.WatchdogPID, info.WatchdogRestarts, err)
		}
		if err := syscall.Kill(info.WatchdogPID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		supervisortest.WaitUntil(t, "the watchdog replaced or given up", 10*time.Second, func() bool {
			now, _ := h.Sup.Info(ctx)
			return now.WatchdogPID != info.WatchdogPID
		})
	}
	info, _ := h.Sup.Info(ctx)
	if info.WatchdogPID != 0 || info.WatchdogRestarts != 5 {
		t.Fatalf("after six deaths within a minute: watchdog pid %d, restarts %d; want none, 5", info.WatchdogPID, info.WatchdogRestarts)
	}
}

// TestGoneTaskKeepsItsProgress: a task whose plugin ends before the final
// reply comes back plugin_gone with the progress records it had sent: the
// Reply holds every record that carried its token, however it ended.
func TestGoneTaskKeepsItsProgress(t *testing.T) {
	h := startHarness(t, plugin(t, "chaos", supervisortest.Bin("chaos"), `restart = "never"`))
	h.WaitState("chaos", supervisor.StateRunning)
	ctx := context.Background()
	got := make(chan supervisor.Reply, 1)
	go func() {
		r, _ := h.Sup.SendTask(ctx, supervisor.TaskRequest{Plugin: "chaos", ID: 10, Content: "1h", Token: "held"})
		got <- r
	}()
	// The progress record is on the bus once the plugin has the task.
	supervisortest.WaitUntil(t, "the plugin holding the task", 10*time.Second, func() bool {
		return h.Status("chaos").RecordsIn > 0
	})
	pid := h.Status("chaos").PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.Outcome != supervisor.OutcomeGone || len(r.Records) != 1 || r.Records[0].Fields["action"] != "holding" {
		t.Fatalf("reply %s with %d records %+v; want plugin_gone with the holding record", r.Outcome, len(r.Records), r.Records)
	}
}
