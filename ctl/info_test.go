package ctl_test

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/control"
	ct "github.com/plugvisor/plugvisor/control/controltest"
	"github.com/plugvisor/plugvisor/ctl"
	"github.com/plugvisor/plugvisor/internal/cgroup"
	"github.com/plugvisor/plugvisor/supervisor"
)

// TestInfo: ctl info prints the supervisor's Info, the host's containment
// line by line; --json is the engine's Info, whole.
func TestInfo(t *testing.T) {
	e := ct.Start(t, ct.Plugin(t, "echo", ct.Bin("echo"), ""), ct.Options{})
	e.WaitState("echo", supervisor.StateRunning)
	info, err := e.Sup.Info(context.Background())
	if err != nil || len(info.Containment) == 0 || info.WatchdogPID == 0 {
		t.Fatalf("the engine reports no containment: %v %+v", err, info)
	}

	r := ctlRun(t, e, "info")
	r.want(t, ctl.ExitOK)
	lines := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		lines[strings.Join(strings.Fields(l), " ")] = true
	}
	want := []string{"name ctltest", "pid " + strconv.Itoa(os.Getpid()), "control socket " + e.Socket,
		"config files " + info.ConfigFiles[0], "watchdog pid " + strconv.Itoa(info.WatchdogPID) + ", restarts 0"}
	want = append(want, "containment "+info.Containment[0])
	want = append(want, info.Containment[1:]...)
	for _, w := range want {
		if !lines[strings.Join(strings.Fields(w), " ")] {
			t.Errorf("ctl info has no line %q:\n%s", w, r.stdout)
		}
	}

	r = ctlRun(t, e, "info", "--json")
	r.want(t, ctl.ExitOK)
	var got supervisor.Info
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("info --json: %v\n%s", err, r.stdout)
	}
	again, _ := json.Marshal(got)
	if string(again)+"\n" != r.stdout {
		t.Errorf("info --json does not round-trip:\n%s\n%s", r.stdout, again)
	}
	if !got.Started.Equal(info.Started) || got.Name != info.Name || got.PID != info.PID || got.ControlSocket != info.ControlSocket ||
		strings.Join(got.Containment, "\n") != strings.Join(info.Containment, "\n") ||
		got.WatchdogPID != info.WatchdogPID || got.WatchdogRestarts != info.WatchdogRestarts {
		t.Errorf("info --json: %+v\nthe engine's: %+v", got, info)
	}
}

// dressed is the real supervisor answering as a contained host that had
// trouble would: a watchdog restarted, a plugin killed at its memory_max;
// one containment line carries an escape sequence.
type dressed struct{ supervisor.API }

func (d dressed) Info(ctx context.Context) (supervisor.Info, error) {
	info, err := d.API.Info(ctx)
	info.ConfigFiles = []string{"/etc/plugvisor/config.toml", "/etc/plugvisor/conf.d/more.toml"}
	info.Containment = []string{"cgroups: hybrid", "kill: cgroup.kill \x1b[31m(cgroup2 at /sys/fs/cgroup/unified)"}
	info.WatchdogPID, info.WatchdogRestarts = 4242, 2
	info.DroppedEvents, info.DroppedEventBytes = 3, 3<<20
	return info, err
}

func (d dressed) Snapshot(ctx context.Context) ([]supervisor.PluginStatus, error) {
	sts, err := d.API.Snapshot(ctx)
	for i := range sts {
		sts[i].LastExit = supervisor.Exit{Time: time.Now(), Code: -1, Signal: "killed",
			Reason: "killed: out of memory (memory_max 64MiB)", Limit: "memory_max"}
	}
	return sts, err
}

// TestInfoOfATroubledHost: ctl info lists every config file and
// containment line, escaped, and says the watchdog was restarted.
func TestInfoOfATroubledHost(t *testing.T) {
	e := ct.Start(t, ct.Plugin(t, "echo", ct.Bin("echo"), ""), ct.Options{Server: func(s *control.Server) { s.API = dressed{s.API} }})
	r := ctlRun(t, e, "info")
	r.want(t, ctl.ExitOK)
	for _, re := range []string{
		`(?m)^config files\s+/etc/plugvisor/config.toml\n\s+/etc/plugvisor/conf.d/more.toml$`,
		`(?m)^containment\s+cgroups: hybrid\n\s+kill: cgroup.kill \\x1b\[31m\(cgroup2 at /sys/fs/cgroup/unified\)$`,
		`(?m)^watchdog\s+pid 4242, restarts 2 \(it died and was started again\)$`,
		`(?m)^dropped events\s+3 \(3.0MiB\)$`,
	} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("ctl info does not match %s:\n%s", re, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "\x1b") {
		t.Errorf("ctl info passes an escape through: %q", r.stdout)
	}
}

// TestStatusShowsLimitExit: a run the kernel ended at a limit is named in
// LAST EXIT, which REASON no longer does once the restart is scheduled.
func TestStatusShowsLimitExit(t *testing.T) {
	t.Run("reported", func(t *testing.T) {
		e := ct.Start(t, ct.Plugin(t, "echo", ct.Bin("echo"), ""), ct.Options{Server: func(s *control.Server) { s.API = dressed{s.API} }})
		ctlRun(t, e, "status").want(t, ctl.ExitOK, "LAST EXIT", "killed: out of memory (memory_max 64MiB)")
	})
	t.Run("real", func(t *testing.T) {
		e := ct.Start(t, ct.Plugin(t, "hog", ct.Bin("chaos"), `memory_max = "64MiB"`), ct.Options{})
		st := e.WaitState("hog", supervisor.StateRunning)
		if l, err := cgroup.Detect(); err == nil && l.Capabilities().MemoryMax.OK() && (st.Cgroup == "" || st.LimitsNotEnforced != "") {
			t.Fatalf("this machine enforces memory_max (%s), yet hog has cgroup %q, not enforced %q", l.Describe(), st.Cgroup, st.LimitsNotEnforced)
		}
		if st.Cgroup == "" || st.LimitsNotEnforced != "" {
			// The fallback: a limit the machine cannot enforce is said, and
			// the plugin runs without it.
			t.Logf("memory_max is not enforced on this machine (%q): tested that status says so", st.LimitsNotEnforced)
			r := ctlRun(t, e, "status", "--json")
			r.want(t, ctl.ExitOK, "limits_not_enforced")
			return
		}
		go func() {
			_, _ = e.Sup.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "hog", ID: 13, Content: "8"})
		}()
		ct.WaitUntil(t, "hog killed at memory_max", 30*time.Second, func() bool { return e.Status("hog").LastExit.Limit == "memory_max" })
		r := ctlRun(t, e, "status")
		r.want(t, ctl.ExitOK)
		lines := strings.Split(r.stdout, "\n")
		header, row := lines[0], lines[1]
		col := strings.Index(header, "LAST EXIT")
		if col < 0 || !strings.HasPrefix(row[col:], "killed: out of memory (memory_max 64MiB)") {
			t.Fatalf("LAST EXIT does not say hog was killed at memory_max:\n%s", r.stdout)
		}
	})
}
