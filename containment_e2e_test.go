package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/cgroup"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor"
)

// The containment tests run the plugvisor binary headless with the chaos
// plugin's tasks that try to get out: escape (setsid and a double fork),
// hog, forks, spin, read, who. Each asserts on what the kernel says (the
// process table, the cgroup files) as well as on what plugvisor reports.

// containBound only turns a hang into a failure; it asserts nothing about
// speed.
const containBound = 30 * time.Second

// contained is one plugvisor run for a containment test.
type contained struct {
	t      *testing.T
	tmp    string // every process of the run has TMPDIR or its socket under it
	work   string
	cfg    string
	cmd    *exec.Cmd
	stderr *lines
	exited bool // the test ended plugvisor itself and reaped it
}

// chaosPlugin is a [plugins.NAME] table running the chaos plugin from the
// plugvisor binary, with extra keys (and sub-tables) after it.
func chaosPlugin(t *testing.T, name, extra string) string {
	t.Helper()
	self := testutil.Bin("plugvisor")
	return fmt.Sprintf("[plugins.%s]\nexec = %q\nargs = [\"plugin\", \"chaos\"]\nsha256 = %q\n%s\n", name, self, sha(t, self), extra)
}

// echoPlugin is the echo plugin's table.
func echoPlugin(t *testing.T) string {
	t.Helper()
	self := testutil.Bin("plugvisor")
	return fmt.Sprintf("[plugins.echo]\nexec = %q\nargs = [\"plugin\", \"echo\"]\nsha256 = %q\n", self, sha(t, self))
}

// startContained starts plugvisor headless on tmp with the plugin tables
// given and waits until every instance named in running has registered.
// Its cleanup stops plugvisor (SIGTERM, then the kill of startHeadless)
// and checks that it left no process and no cgroup directory.
func startContained(t *testing.T, tmp, plugins string, running ...string) *contained {
	t.Helper()
	c := &contained{t: t, tmp: tmp, work: filepath.Join(tmp, "w"), cfg: filepath.Join(tmp, "config.toml")}
	writeFile(t, c.cfg, fmt.Sprintf("[agent]\nwork_dir = %q\n", c.work)+plugins)
	c.cmd, _, c.stderr = startHeadless(t, demoEnv(t.TempDir(), tmp), "--config", c.cfg)
	t.Cleanup(c.cleanup)
	for _, in := range running {
		c.stderr.waitFor(t, "instance="+in+" from=starting to=running")
	}
	return c
}

func (c *contained) cleanup() {
	t := c.t
	if !c.exited {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- c.cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(containBound):
			_ = c.cmd.Process.Kill()
			<-done
			t.Errorf("plugvisor did not exit within %v of SIGTERM", containBound)
		}
	}
	var left []string
	if !testutil.Until(containBound, func() bool { left = alivePlugins(c.tmp); return len(left) == 0 }) {
		t.Errorf("processes of the run left after plugvisor ended: %v", left)
	}
	if !testutil.Until(containBound, func() bool { left = cgroupParents(t, c.cmd.Process.Pid); return len(left) == 0 }) {
		t.Errorf("cgroup directories left after plugvisor ended: %v", left)
	}
}

// terminate ends plugvisor with SIGTERM and wants exit status 0.
func (c *contained) terminate() {
	c.t.Helper()
	err := stopAndWait(c.t, c.cmd)
	c.exited = true
	if err != nil {
		c.t.Fatalf("plugvisor after SIGTERM: %v\n%s", err, c.stderr.text())
	}
}

// sigkill kills plugvisor with SIGKILL and reaps it.
func (c *contained) sigkill() {
	c.t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		c.t.Fatal(err)
	}
	_ = c.cmd.Wait()
	c.exited = true
}

// ctl runs `plugvisor ctl --config CFG args...` and returns its stdout.
func (c *contained) ctl(args ...string) (string, error) {
	cmd := exec.Command(testutil.Bin("plugvisor"), append([]string{"ctl", "--config", c.cfg}, args...)...)
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		err = fmt.Errorf("%w: %s", err, ee.Stderr)
	}
	return string(out), err
}

// send sends a task with `ctl send --json` and returns the reply, however
// the task ended (ctl prints a final reply, an error reply or a plugin gone
// before replying, whatever its exit code).
func (c *contained) send(name string, id uint32, content string) supervisor.Reply {
	c.t.Helper()
	out, err := c.ctl("send", "--json", name, strconv.FormatUint(uint64(id), 10), content)
	var r supervisor.Reply
	if jerr := json.Unmarshal([]byte(out), &r); jerr != nil {
		c.t.Fatalf("ctl send %s %d %q: no reply (%v; %v)\n%s", name, id, content, jerr, err, out)
	}
	return r
}

// answer sends a task that must be answered and returns its final fields.
func (c *contained) answer(name string, id uint32, content string) map[string]string {
	c.t.Helper()
	r := c.send(name, id, content)
	if r.Outcome != supervisor.OutcomeAnswered || len(r.Records) == 0 {
		c.t.Fatalf("task %d %q on %s: %s %q, want answered; reply %+v", id, content, name, r.Outcome, r.Error, r)
	}
	return r.Records[len(r.Records)-1].Fields
}

// status is instance's row of `ctl status --json`.
func (c *contained) status(instance string) supervisor.PluginStatus {
	c.t.Helper()
	out, err := c.ctl("status", "--json")
	if err != nil {
		c.t.Fatalf("ctl status: %v", err)
	}
	var all []supervisor.PluginStatus
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		c.t.Fatalf("ctl status --json: %v\n%s", err, out)
	}
	for _, s := range all {
		if s.Instance == instance {
			return s
		}
	}
	c.t.Fatalf("no instance %s in the status:\n%s", instance, out)
	return supervisor.PluginStatus{}
}

// waitStatus polls the status of instance until cond holds.
func (c *contained) waitStatus(instance, what string, cond func(supervisor.PluginStatus) bool) supervisor.PluginStatus {
	c.t.Helper()
	var st supervisor.PluginStatus
	if !testutil.Until(containBound, func() bool { st = c.status(instance); return cond(st) }) {
		c.t.Fatalf("%s: %s never held; last status: state %s (%s), pid %d, exits %s, oom_kills %d, pids_limit_hits %d",
			instance, what, st.State, st.Reason, st.PID, exitsText(st.Exits), st.OOMKills, st.PidsLimitHits)
	}
	return st
}

// info is the running plugvisor's Info, from its control socket.
func (c *contained) info() supervisor.Info {
	c.t.Helper()
	in, err := dial(c.t, c.cfg).Info(context.Background())
	if err != nil {
		c.t.Fatal(err)
	}
	return in
}

// exitsText spells exits out: Exit's String says only "signal killed".
func exitsText(exits []supervisor.Exit) string {
	var b strings.Builder
	for _, e := range exits {
		fmt.Fprintf(&b, "[code %d signal %q limit %q reason %q] ", e.Code, e.Signal, e.Limit, e.Reason)
	}
	return b.String()
}

// layout is how plugvisor will find this machine's cgroups; the tests use
// it only to choose which path (enforced, or the documented fallback) to
// assert, never as the evidence.
func layout(t *testing.T) *cgroup.Capabilities {
	t.Helper()
	l, err := cgroup.Detect()
	if err != nil {
		t.Logf("no cgroups on this machine (%v): testing the process-group fallback", err)
		return nil
	}
	caps := l.Capabilities()
	return &caps
}

// proc is one process as /proc shows it: enough to tell it from a later
// process given the same pid.
type proc struct {
	pid, ppid, pgrp, session int
	state                    string
	start                    uint64 // clock ticks after boot
}

func readProc(pid int) (proc, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return proc{}, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return proc{}, false
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3, state
	if len(f) < 20 {
		return proc{}, false
	}
	p := proc{pid: pid, state: f[0]}
	p.ppid, _ = strconv.Atoi(f[1])
	p.pgrp, _ = strconv.Atoi(f[2])
	p.session, _ = strconv.Atoi(f[3])
	p.start, _ = strconv.ParseUint(f[19], 10, 64) // field 22
	return p, true
}

// running says whether p is still a live (not zombie) process.
func (p proc) running() bool {
	now, ok := readProc(p.pid)
	return ok && now.start == p.start && now.state != "Z"
}

// reaped says whether p is gone from the process table altogether.
func (p proc) reaped() bool {
	now, ok := readProc(p.pid)
	return !ok || now.start != p.start
}

// eachProc calls fn with every process in /proc.
func eachProc(fn func(proc)) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok {
			fn(p)
		}
	}
}

// watchdogs are the live children of pid started as its watchdog.
func watchdogs(pid int) []proc {
	var out []proc
	eachProc(func(p proc) {
		if p.ppid != pid || p.state == "Z" {
			return
		}
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.pid))
		if slices.Contains(strings.Split(string(env), "\x00"), supervisor.WatchdogEnv+"=1") {
			out = append(out, p)
		}
	})
	return out
}

// theWatchdog waits for plugvisor's one watchdog other than the ones in
// not, and checks that plugvisor names the same pid.
func (c *contained) theWatchdog(not ...proc) proc {
	c.t.Helper()
	var w []proc
	testutil.WaitUntil(c.t, "a watchdog", containBound, func() bool {
		w = slices.DeleteFunc(watchdogs(c.cmd.Process.Pid), func(p proc) bool {
			return slices.ContainsFunc(not, func(q proc) bool { return q.pid == p.pid && q.start == p.start })
		})
		return len(w) > 0
	})
	if len(w) != 1 {
		c.t.Fatalf("plugvisor has %d watchdogs: %+v", len(w), w)
	}
	return w[0]
}

// socketHolders are the live processes whose environment points at a
// plugin socket under dir: a plugin and whatever it started, escaped
// grandchildren included, but not plugvisor or its watchdog.
func socketHolders(dir string) []int {
	var out []int
	eachProc(func(p proc) {
		if p.state == "Z" {
			return
		}
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.pid))
		for _, kv := range strings.Split(string(env), "\x00") {
			if strings.HasPrefix(kv, "PLUGVISOR_SOCKET="+dir) {
				out = append(out, p.pid)
				return
			}
		}
	})
	return out
}

// cgroupHomes are the directories in which a plugvisor started by this
// test makes its plugvisor-<pid>-* parent groups, from the kernel's view
// of this process, not from plugvisor's code: in every cgroup hierarchy,
// this process's own cgroup (plugvisor, its child, starts there) and the
// cgroup above it (where cgroup2 plugin groups go when plugvisor shares
// its cgroup).
func cgroupHomes(t *testing.T) []string {
	t.Helper()
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	type member struct {
		ctls []string
		path string
	}
	var members []member
	for line := range strings.Lines(string(cg)) {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		m := member{path: parts[2]}
		if parts[1] != "" {
			m.ctls = strings.Split(parts[1], ",")
		}
		members = append(members, m)
	}
	var homes []string
	for line := range strings.Lines(string(mi)) {
		f := strings.Fields(line)
		sep := slices.Index(f, "-")
		if sep < 5 || sep+3 >= len(f) {
			continue
		}
		root, point, fstype, super := f[3], f[4], f[sep+1], strings.Split(f[sep+3], ",")
		i := slices.IndexFunc(members, func(m member) bool {
			switch fstype {
			case "cgroup2":
				return len(m.ctls) == 0
			case "cgroup":
				return len(m.ctls) > 0 && !slices.ContainsFunc(m.ctls, func(c string) bool { return !slices.Contains(super, c) })
			}
			return false
		})
		if i < 0 {
			continue
		}
		rel, ok := strings.CutPrefix(members[i].path, strings.TrimSuffix(root, "/"))
		if !ok {
			continue
		}
		dir := filepath.Join(point, rel)
		homes = append(homes, dir)
		if dir != point {
			homes = append(homes, filepath.Dir(dir))
		}
	}
	slices.Sort(homes)
	return slices.Compact(homes)
}

// cgroupParents are the plugvisor-<pid>-* directories of plugvisor pid in
// every hierarchy.
func cgroupParents(t *testing.T, pid int) []string {
	t.Helper()
	var out []string
	for _, home := range cgroupHomes(t) {
		dirs, _ := filepath.Glob(filepath.Join(home, fmt.Sprintf("plugvisor-%d-*", pid)))
		out = append(out, dirs...)
	}
	return out
}

// instanceGroups are the instance groups (plugvisor-<pid>-*/<name>-<n>)
// of plugvisor pid in every hierarchy.
func instanceGroups(t *testing.T, pid int, name string) []string {
	t.Helper()
	var out []string
	for _, parent := range cgroupParents(t, pid) {
		dirs, _ := filepath.Glob(filepath.Join(parent, name+"-*"))
		for _, d := range dirs {
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				out = append(out, d)
			}
		}
	}
	return out
}

// escape runs the chaos escape task and returns the two grandchildren it
// left in a session of their own, checked against the process table: alive,
// out of the plugin's process group and session, and (with cgroups) in the
// instance's cgroup.
func (c *contained) escape(instance string, caps *cgroup.Capabilities) []proc {
	c.t.Helper()
	st := c.status(instance)
	fields := c.answer(instance, 12, "")
	var out []proc
	for _, s := range strings.Split(fields["pids"], ",") {
		pid, err := strconv.Atoi(s)
		if err != nil {
			c.t.Fatalf("escape replied pids %q", fields["pids"])
		}
		p, ok := readProc(pid)
		if !ok || p.state == "Z" {
			c.t.Fatalf("escaped pid %d is not running: %+v", pid, p)
		}
		if p.pgrp == st.PGID || p.session == st.PGID {
			c.t.Fatalf("pid %d did not escape: process group %d, session %d, the plugin's group %d", pid, p.pgrp, p.session, st.PGID)
		}
		if caps != nil {
			cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
			if !strings.Contains(string(cg), "/"+filepath.Base(st.Cgroup)) || st.Cgroup == "" {
				c.t.Fatalf("escaped pid %d is not in the instance's cgroup %s:\n%s", pid, st.Cgroup, cg)
			}
		}
		out = append(out, p)
	}
	if len(out) != 2 {
		c.t.Fatalf("escape left %d processes, want 2", len(out))
	}
	c.t.Logf("escaped: pids %v in session %d, away from the plugin's group %d (pid %d)", fields["pids"], out[0].session, st.PGID, st.PID)
	return out
}

// waitGone waits until none of ps is running (a zombie has stopped running;
// it is left to whoever adopted it to reap), then logs whether they were
// reaped too.
func waitGone(t *testing.T, what string, ps []proc) {
	t.Helper()
	var alive []proc
	if !testutil.Until(containBound, func() bool {
		alive = slices.DeleteFunc(slices.Clone(ps), func(p proc) bool { return !p.running() })
		return len(alive) == 0
	}) {
		t.Fatalf("%s: still running: %+v", what, alive)
	}
	reaped := testutil.Until(containBound, func() bool {
		return !slices.ContainsFunc(ps, func(p proc) bool { return !p.reaped() })
	})
	t.Logf("%s: %d escaped processes gone (reaped: %v)", what, len(ps), reaped)
}

// wantCgroupsBefore checks that the instance has its groups, in cgroup2 and
// every v1 hierarchy the layout uses, so that "none left" later means
// something.
func (c *contained) wantCgroupsBefore(instance string, caps *cgroup.Capabilities) {
	c.t.Helper()
	dirs := instanceGroups(c.t, c.cmd.Process.Pid, instance)
	if caps == nil {
		if len(dirs) > 0 {
			c.t.Fatalf("cgroups without a cgroup layout: %v", dirs)
		}
		return
	}
	if len(dirs) == 0 {
		c.t.Fatalf("no cgroup of %s under %v", instance, cgroupHomes(c.t))
	}
	c.t.Logf("%s's groups: %v", instance, dirs)
}

// wantNoCgroups checks that plugvisor pid left no directory behind, once
// whoever removes them (plugvisor on a clean exit, the watchdog after a
// SIGKILL) has finished.
func wantNoCgroups(t *testing.T, pid int, after string) {
	t.Helper()
	if left := cgroupParents(t, pid); len(left) > 0 {
		var below []string
		for _, d := range left {
			sub, _ := filepath.Glob(filepath.Join(d, "*"))
			for _, s := range sub {
				if st, err := os.Stat(s); err == nil && st.IsDir() {
					below = append(below, s)
				}
			}
		}
		t.Fatalf("after %s, cgroup directories left: %v (groups in them: %v)", after, left, below)
	}
}

// waitExited waits until p, a watchdog, has exited: it exits only once it
// has killed and removed what it was told.
func waitExited(t *testing.T, what string, p proc) {
	t.Helper()
	testutil.WaitUntil(t, what+" to exit", containBound, func() bool { return !p.running() })
}

// TestEscapeIsContained: the chaos escape task leaves two sleeps in a
// session of their own (setsid, then a double fork), out of reach of any
// kill by process group. They are gone after a stop, after a SIGKILL of
// plugvisor (its watchdog kills the cgroup), and after a SIGKILL of the
// watchdog followed by one of plugvisor (the new watchdog was told the
// list); and no cgroup directory is left behind.
func TestEscapeIsContained(t *testing.T) {
	caps := layout(t)
	if caps != nil && !caps.Kill.OK() {
		t.Fatalf("cgroups without a kill: %v", caps.Kill)
	}
	t.Run("stop", func(t *testing.T) {
		tmp := t.TempDir()
		c := startContained(t, tmp, chaosPlugin(t, "chaos", ""), "chaos")
		c.wantCgroupsBefore("chaos", caps)
		escaped := c.escape("chaos", caps)
		if out, err := c.ctl("stop", "chaos"); err != nil {
			t.Fatalf("ctl stop chaos: %v\n%s", err, out)
		}
		if caps == nil {
			// Documented: without cgroups a child that called setsid
			// outlives its plugin. Assert that, then clean up.
			if !escaped[0].running() || !escaped[1].running() {
				t.Fatalf("without cgroups the escaped processes were killed after all: %+v", escaped)
			}
			t.Log("no cgroups: the escaped processes outlive the stop, as documented")
			for _, p := range escaped {
				_ = syscall.Kill(p.pid, syscall.SIGKILL)
			}
		}
		waitGone(t, "after ctl stop chaos", escaped)
		if left := socketHolders(tmp); len(left) > 0 {
			t.Fatalf("after ctl stop chaos, processes of the plugin left: %v", left)
		}
		if st := c.status("chaos"); st.State != supervisor.StateStopped || st.PID != 0 {
			t.Fatalf("chaos after stop: %s pid %d", st.State, st.PID)
		}
		// The instance's groups stay, empty, for its next start (their v1
		// directories hold the supervisor's forking thread, which cgroup.procs
		// lists as plugvisor's pid); they go when plugvisor exits.
		for _, dir := range instanceGroups(t, c.cmd.Process.Pid, "chaos") {
			if pids := groupPids(t, dir, c.cmd.Process.Pid); len(pids) > 0 {
				t.Fatalf("after ctl stop chaos, %s still holds %v", dir, pids)
			}
		}
		c.terminate()
		if left := alivePlugins(tmp); len(left) > 0 {
			t.Fatalf("after SIGTERM, processes of the run left: %v", left)
		}
		wantNoCgroups(t, c.cmd.Process.Pid, "ctl stop and SIGTERM")
	})
	t.Run("sigkill", func(t *testing.T) {
		tmp := t.TempDir()
		c := startContained(t, tmp, chaosPlugin(t, "chaos", ""), "chaos")
		c.wantCgroupsBefore("chaos", caps)
		escaped := c.escape("chaos", caps)
		w := c.theWatchdog()
		c.sigkill()
		c.afterSigkill(caps, w, escaped, "SIGKILL of plugvisor")
	})
	t.Run("watchdog-sigkill", func(t *testing.T) {
		tmp := t.TempDir()
		c := startContained(t, tmp, chaosPlugin(t, "chaos", ""), "chaos")
		c.wantCgroupsBefore("chaos", caps)
		escaped := c.escape("chaos", caps)
		w1 := c.theWatchdog()
		if in := c.info(); in.WatchdogPID != w1.pid {
			t.Fatalf("plugvisor names watchdog %d, the process table %d", in.WatchdogPID, w1.pid)
		}
		if err := syscall.Kill(w1.pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		c.stderr.waitFor(t, "watchdog died; starting another", fmt.Sprintf("pid=%d", w1.pid))
		w2 := c.theWatchdog(w1)
		// Info holds the watchdog's lock, which the restart keeps until it
		// has written the whole list to the new watchdog's stdin: once Info
		// names w2, w2 has been told the escaped processes' cgroup.
		testutil.WaitUntil(t, "plugvisor to name the new watchdog", containBound, func() bool {
			in := c.info()
			return in.WatchdogPID == w2.pid && in.WatchdogRestarts == 1
		})
		if w1.running() {
			t.Fatalf("the killed watchdog %d still runs", w1.pid)
		}
		t.Logf("watchdog %d killed, %d took over", w1.pid, w2.pid)
		if left := c.escapedStillRunning(escaped); len(left) != 2 {
			t.Fatalf("the escaped processes died with the watchdog: %+v", left)
		}
		c.sigkill()
		c.afterSigkill(caps, w2, escaped, "SIGKILL of the watchdog, then of plugvisor")
	})
}

func (c *contained) escapedStillRunning(ps []proc) []proc {
	return slices.DeleteFunc(slices.Clone(ps), func(p proc) bool { return !p.running() })
}

// afterSigkill checks what a SIGKILL of plugvisor leaves once its watchdog
// w has done its work and exited: no process of the run, the escaped ones
// included, and no cgroup directory.
func (c *contained) afterSigkill(caps *cgroup.Capabilities, w proc, escaped []proc, what string) {
	t := c.t
	t.Helper()
	waitExited(t, "the watchdog", w)
	if caps == nil {
		t.Log("no cgroups: the escaped processes outlive the supervisor, as documented")
		for _, p := range escaped {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
	}
	waitGone(t, "after "+what, escaped)
	var left []string
	if !testutil.Until(containBound, func() bool { left = alivePlugins(c.tmp); return len(left) == 0 }) {
		t.Fatalf("after %s, processes of the run left: %v", what, left)
	}
	wantNoCgroups(t, c.cmd.Process.Pid, what)
}

// TestSigkillWithNoPluginRunningLeavesNoCgroup: plugvisor's parent groups
// (plugvisor-<pid>-* in every hierarchy) must go when plugvisor is killed
// with SIGKILL even when no plugin runs at that moment, as they do when a
// plugin runs: the watchdog is the only one left to remove them.
func TestSigkillWithNoPluginRunningLeavesNoCgroup(t *testing.T) {
	caps := layout(t)
	tmp := t.TempDir()
	c := startContained(t, tmp, chaosPlugin(t, "chaos", ""), "chaos")
	c.wantCgroupsBefore("chaos", caps)
	if out, err := c.ctl("stop", "chaos"); err != nil {
		t.Fatalf("ctl stop chaos: %v\n%s", err, out)
	}
	parents := cgroupParents(t, c.cmd.Process.Pid)
	if caps != nil && len(parents) == 0 {
		t.Fatal("no parent cgroup directories while plugvisor runs")
	}
	w := c.theWatchdog()
	c.sigkill()
	waitExited(t, "the watchdog", w)
	// Whatever is left now stays: the watchdog was the last to remove it.
	// Remove it (empty directories of this run's plugvisor only) so that a
	// failure here leaves the machine clean, then fail.
	left := cgroupParents(t, c.cmd.Process.Pid)
	for _, d := range left {
		// Its instances' groups first: cgroupfs removes no directory with
		// children.
		kids, _ := filepath.Glob(filepath.Join(d, "*"))
		for _, k := range kids {
			if st, err := os.Stat(k); err == nil && st.IsDir() {
				_ = os.Remove(k)
			}
		}
		if err := os.Remove(d); err != nil {
			t.Errorf("removing the leftover %s: %v", d, err)
		}
	}
	if len(left) > 0 {
		t.Fatalf("after SIGKILL of plugvisor with no plugin running, its watchdog exited leaving %d cgroup directories: %v", len(left), left)
	}
}

// groupPids lists the processes in a cgroup directory other than plugvisor
// itself.
func groupPids(t *testing.T, dir string, plugvisor int) []int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		t.Fatalf("read %s/cgroup.procs: %v", dir, err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, _ := strconv.Atoi(f); pid != plugvisor {
			pids = append(pids, pid)
		}
	}
	return pids
}
