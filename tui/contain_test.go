package tui

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// contained is the real supervisor with what a contained host reports put
// into its answers, so the console's containment lines can be checked on
// any machine: echo runs as nobody in a cgroup under limits, one of them
// not enforced, and was killed at memory_max and stopped at pids_max
// before; the host's watchdog was restarted once. Some texts carry escape
// sequences, as a hostile or broken engine's might.
type contained struct {
	supervisor.API
	started time.Time
}

// Exits echo had, oldest first.
var containedExits = []supervisor.Exit{
	{Code: 0, Reason: "exited: exit 0\x1b[2J"},
	{Code: 1, Reason: "exited: exit 1; pids_max 32 reached: 3 fork(s) refused", Limit: "pids_max"},
	{Code: -1, Signal: "killed", Reason: "killed: out of memory (memory_max 64MiB)", Limit: "memory_max"},
}

func (c contained) Snapshot(ctx context.Context) ([]supervisor.PluginStatus, error) {
	sts, err := c.API.Snapshot(ctx)
	for i := range sts {
		if sts[i].Name != "echo" {
			sts[i].Started = c.started // ran once, as the supervisor's user, in no cgroup
			continue
		}
		s := &sts[i]
		s.Started, s.User, s.Cgroup = c.started, "nobody (uid 65534, gid 65534)", "/sys/fs/cgroup/unified/plugvisor-1-ab/echo-1"
		s.Limits, s.LimitsNotEnforced = "memory_max 64MiB, cpu_max 25%, pids_max 32", "cpu_max: no cpu controller\x1b]0;pwned\a here"
		s.Sandboxed, s.OOMKills, s.PidsLimitHits = true, 2, 3
		s.Exits = nil
		for j, e := range containedExits {
			e.Time = c.started.Add(time.Duration(j) * time.Minute)
			s.Exits = append(s.Exits, e)
		}
		s.LastExit = s.Exits[len(s.Exits)-1]
	}
	return sts, err
}

func (c contained) Info(ctx context.Context) (supervisor.Info, error) {
	info, err := c.API.Info(ctx)
	info.Containment = []string{
		"cgroups: hybrid",
		"kill: cgroup.kill (cgroup2 at /sys/fs/cgroup/unified)",
		"memory_max: v1 memory controller under /sys/fs/cgroup/memory\x1b[31m",
		"sandbox: landlock ABI 7: filesystem, TCP bind/connect",
		"a line of another shape",
	}
	info.WatchdogPID, info.WatchdogRestarts = 4242, 1
	return info, err
}

// TestInfoTabContainment: the Info tab says how an instance is contained
// and how the host contains plugins, with limit hits and a restarted
// watchdog standing out and the engine's texts sanitized.
func TestInfoTabContainment(t *testing.T) {
	r := startRig(t, false)
	started := time.Date(2026, 3, 1, 12, 0, 0, 0, time.Local)
	c := newConsole(t, contained{r.sup, started}, Options{}, 140, 60)
	c.waitFor("ticker")
	c.press("4") // chaos, the first row: the supervisor's user, no cgroup
	c.waitFor(
		"user        supervisor's own",
		"cgroup      none: process group only; a child that calls setsid is not reached",
		"limits      none",
		"sandbox     no",
		"limit hits  oom kills 0 · pids_max hits 0",
	)
	c.press("j") // echo
	s := c.waitFor(
		"user        nobody (uid 65534, gid 65534)",
		"cgroup      /sys/fs/cgroup/unified/plugvisor-1-ab/echo-1",
		"limits      memory_max 64MiB, cpu_max 25%, pids_max 32",
		"            not enforced: cpu_max: no cpu controller here",
		"sandbox     yes",
		"limit hits  oom kills 2 · pids_max hits 3",
		"containment on this host",
		"cgroups     hybrid",
		"kill        cgroup.kill (cgroup2 at /sys/fs/cgroup/unified)",
		"memory_max  v1 memory controller under /sys/fs/cgroup/memory ",
		"sandbox     landlock ABI 7: filesystem, TCP bind/connect",
		"│ a line of another shape",
		"watchdog    pid 4242 · restarts 1 (it died and was started again)",
	)
	exits := exitLinesOf(s)
	want := []string{"signal killed  killed: out of memory (memory_max 64MiB)",
		"exit 1         exited: exit 1; pids_max 32 reached: 3 fork(s) refused", "exit 0         exited: exit 0"}
	if len(exits) != len(want) {
		t.Fatalf("exit history %q, want %d lines newest first:\n%s", exits, len(want), s)
	}
	for i, w := range want {
		if !strings.HasSuffix(exits[i], w) {
			t.Errorf("exit %d is %q, want it to end %q", i+1, exits[i], w)
		}
	}

	var raw string
	var oom, pids, normal, restarts string
	c.inspect(func(m *Model) {
		raw = m.View().Content
		st := m.c.Styles
		at := func(i int) string {
			return started.Add(time.Duration(i)*time.Minute).Format("2006-01-02 15:04:05") + "  "
		}
		oom = st.Error.Render(at(2) + want[0])
		pids = st.Warn.Render(at(1) + want[1])
		normal = st.Text.Render(at(0) + want[2])
		restarts = st.Warn.Render("restarts 1")
	})
	for what, styled := range map[string]string{"the OOM kill in the error style": oom, "the pids_max exit in the warning style": pids,
		"a normal exit in the text style": normal, "the watchdog's restarts in the warning style": restarts} {
		if !strings.Contains(raw, styled) {
			t.Errorf("not drawn: %s (%q)", what, styled)
		}
	}
	for _, seq := range []string{"\x1b]0;", "\a", "\x1b[2J", "pwned"} {
		if strings.Contains(raw, seq) {
			t.Errorf("the engine's text reached the terminal with %q", seq)
		}
	}

	// The wide layout's summary draws the last exit as the history does.
	c.tm.Send(tea.WindowSizeMsg{Width: 200, Height: 60})
	c.waitFor("echo at a glance", "restarts  0 · last signal killed: killed: out of memory (memory_max 64MiB)")
	c.inspect(func(m *Model) {
		// The exit alone: the restart count keeps the text style.
		raw, oom = m.View().Content, m.c.Styles.Error.Render(" · last signal killed: killed: out of memory (memory_max 64MiB)")
	})
	if !strings.Contains(raw, oom) {
		t.Errorf("the summary's last exit is not in the error style (%q)", oom)
	}
}

// exitLinesOf are the exit history's lines on a screen, frame cut off.
func exitLinesOf(screen string) []string {
	var out []string
	in := false
	for _, l := range strings.Split(screen, "\n") {
		body := strings.TrimSpace(strings.Trim(l, "│"))
		switch {
		case strings.HasPrefix(body, "exit history"):
			in = true
		case in && body == "":
			return out
		case in:
			out = append(out, body)
		}
	}
	return out
}

// TestInfoTabRealContainment: against the real engine, a started plugin's
// containment and the host's (whatever this machine has) reach the tab.
func TestInfoTabRealContainment(t *testing.T) {
	r := startRig(t, true)
	r.waitState("chaos", supervisor.StateRunning)
	info := supervisortest.InfoOf(t, r.sup)
	if len(info.Containment) == 0 || info.WatchdogPID == 0 {
		t.Fatalf("the engine reports no containment: %+v", info)
	}
	c := newConsole(t, r.sup, Options{}, 140, 60)
	c.waitFor("ticker")
	c.press("4")
	c.waitFor("user        supervisor's own", "containment on this host",
		"watchdog    pid "+strconv.Itoa(info.WatchdogPID)+" · restarts 0")
	cg := supervisortest.SnapshotOf(t, r.sup)[0].Cgroup
	if cg == "" {
		cg = "none: process group only"
	}
	c.waitFor("cgroup      " + cg)
}
