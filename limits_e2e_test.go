package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/internal/cgroup"
	"github.com/plugvisor/plugvisor/supervisor"
)

// The cgroup limits, set per plugin, hit by the chaos plugin's hog, forks
// and spin tasks.

// TestMemoryMaxOOMKill: the hog task allocates 16 MiB at a time under
// memory_max = "64MiB" until the kernel OOM-kills it in its cgroup. The
// exit says so with the limit, the status counts the kill, and a plugin
// beside it keeps running and answering.
func TestMemoryMaxOOMKill(t *testing.T) {
	caps := layout(t)
	tmp := t.TempDir()
	c := startContained(t, tmp, chaosPlugin(t, "chaos", `memory_max = "64MiB"`)+echoPlugin(t), "chaos", "echo")
	st := c.status("chaos")
	// Not enforced here: said so, and the host is not hogged.
	if !c.enforced(st, "memory_max 64MiB", "memory_max", caps, func(k *cgroup.Capabilities) cgroup.Support { return k.MemoryMax }) {
		return
	}
	if st.LimitsNotEnforced != "" {
		t.Fatalf("limits_not_enforced %q on a machine that enforces memory_max", st.LimitsNotEnforced)
	}
	echoBefore := c.status("echo")
	held := hogHeld(t, c, "chaos")
	r := c.send("chaos", 13, "16")
	if r.Outcome != supervisor.OutcomeGone {
		t.Fatalf("hog ended %s, want plugin_gone (killed): %+v", r.Outcome, r)
	}
	mib := <-held
	// The hog reports a step once it has touched it; the step that the
	// kernel refused is never reported, and the Go runtime's own memory
	// counts too.
	if mib < 16 || mib >= 64 {
		t.Fatalf("hog reported %d MiB held before it was killed, want 16 ≤ MiB < 64 under memory_max 64MiB", mib)
	}
	st = c.waitStatus("chaos", "an exit at memory_max", func(s supervisor.PluginStatus) bool { return s.LastExit.Limit != "" })
	e := st.LastExit
	t.Logf("hog reported %d MiB held before the kill; exit reason %q, signal %s, limit %s; oom_kills %d", mib, e.Reason, e.Signal, e.Limit, st.OOMKills)
	if !strings.Contains(e.Reason, "killed: out of memory (memory_max 64MiB)") {
		t.Fatalf("exit reason %q, want it to contain %q", e.Reason, "killed: out of memory (memory_max 64MiB)")
	}
	if e.Limit != "memory_max" || e.Signal != "killed" || st.OOMKills < 1 {
		t.Fatalf("exit limit %q signal %q, oom_kills %d: want memory_max, killed, ≥ 1", e.Limit, e.Signal, st.OOMKills)
	}
	if st.PidsLimitHits != 0 {
		t.Fatalf("pids_limit_hits %d without a pids_max", st.PidsLimitHits)
	}
	// The neighbour: the same process all along, and answering.
	fields := c.answer("echo", 1, "still here")
	if fields["content"] != "still here" {
		t.Fatalf("echo answered %v", fields)
	}
	echo := c.status("echo")
	if echo.State != supervisor.StateRunning || echo.PID != echoBefore.PID || echo.Restarts != 0 || echo.OOMKills != 0 {
		t.Fatalf("echo after chaos's OOM kill: %s pid %d (was %d), restarts %d, oom_kills %d",
			echo.State, echo.PID, echoBefore.PID, echo.Restarts, echo.OOMKills)
	}
}

// hogHeld follows the events of instance and sends the most MiB its hog
// task reported held, once its session has ended: every record the session
// delivered was published before the state change that ends it. The
// task's reply cannot say: a reply whose plugin went away carries none of
// the progress records it had.
func hogHeld(t *testing.T, c *contained, instance string) <-chan int {
	t.Helper()
	events, cancel, err := dial(t, c.cfg).Subscribe(context.Background(), 4096)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	held := make(chan int, 1)
	go func() {
		most := 0
		for ev := range events {
			switch {
			case ev.Type == supervisor.EventDropped:
				most = -1 // a lost record: unknown
			case ev.Instance != instance:
			case ev.Type == supervisor.EventRecords:
				for _, rec := range ev.Records {
					if n, err := strconv.Atoi(rec.Fields["mib"]); err == nil && most >= 0 {
						most = max(most, n)
					}
				}
			case ev.Type == supervisor.EventState && ev.Prev == supervisor.StateRunning:
				held <- most
				return
			}
		}
		held <- -1
	}()
	return held
}

// pidsRefused is limitExit's note on a run whose forks were refused.
var pidsRefused = regexp.MustCompile(`pids_max 32 reached: ([0-9]+) fork\(s\) refused`)

// forksAttempts bounds the forks tasks TestPidsMaxRefusesForks sends. A Go
// plugin at its pids_max can still die before it replies, when its runtime
// needs a thread while the children hold every pid; each such death is
// itself checked (its exit names the limit), and the restarted plugin
// tries again.
const forksAttempts = 10

// TestPidsMaxRefusesForks: under pids_max = 32 the forks task cannot start
// 100 children: fork fails with EAGAIN. The kernel's count of refused forks
// (pids.events max) is read when the run ends, so the status shows it once
// the plugin has stopped, and the exit of that run names the limit.
func TestPidsMaxRefusesForks(t *testing.T) {
	caps := layout(t)
	tmp := t.TempDir()
	// Keys before the first table are the agent's: room for the restarts
	// of the runs that die of the limit before replying.
	c := startContained(t, tmp, "restart_burst = 50\n"+chaosPlugin(t, "chaos", "pids_max = 32\nenv = { GOMAXPROCS = \"2\" }"), "chaos")
	st := c.status("chaos")
	if !c.enforced(st, "pids_max 32", "pids_max", caps, func(k *cgroup.Capabilities) cgroup.Support { return k.PidsMax }) {
		return
	}
	var fields map[string]string
	run, died := st.PID, 0
	for attempt := 1; fields == nil; attempt++ {
		r := c.send("chaos", 14, "100")
		if r.Outcome == supervisor.OutcomeAnswered {
			fields = r.Records[len(r.Records)-1].Fields
			break
		}
		// Gone before its reply: the plugin's Go runtime could not make a
		// thread (pthread_create: EAGAIN) and aborted. That run's exit must
		// name the limit; then the restarted plugin tries again.
		if r.Outcome != supervisor.OutcomeGone || attempt == forksAttempts {
			t.Fatalf("forks attempt %d: %s %q, want answered (or the plugin killed by the limit)", attempt, r.Outcome, r.Error)
		}
		died++
		st = c.waitStatus("chaos", "a restart after the death at pids_max", func(s supervisor.PluginStatus) bool {
			return s.State == supervisor.StateRunning && s.PID != run && s.PID != 0
		})
		if last := st.Exits[len(st.Exits)-1]; last.Limit != "pids_max" || !pidsRefused.MatchString(last.Reason) {
			t.Fatalf("forks attempt %d: the plugin went, but its exit is %s", attempt, exitsText([]supervisor.Exit{last}))
		}
		t.Logf("forks attempt %d: the plugin died before it replied: %s", attempt, st.Exits[len(st.Exits)-1].Reason)
		run = st.PID
	}
	started, err := strconv.Atoi(fields["started"])
	if err != nil || started >= 100 || started < 1 {
		t.Fatalf("forks started %q of 100 under pids_max 32", fields["started"])
	}
	if !strings.Contains(fields["error"], "resource temporarily unavailable") {
		t.Fatalf("forks error %q, want EAGAIN (resource temporarily unavailable)", fields["error"])
	}
	t.Logf("forks: %d of 100 started, then %q", started, fields["error"])
	// While the run that hit the limit lives, its count is not in the
	// status: limitExit adds it when the run ends (reap clears the pid
	// first, under the same lock, so a row with this pid predates it).
	before := c.status("chaos")
	if before.PID == run {
		var earlier uint64
		for _, e := range before.Exits {
			if m := pidsRefused.FindStringSubmatch(e.Reason); m != nil {
				n, _ := strconv.ParseUint(m[1], 10, 64)
				earlier += n
			}
		}
		if before.PidsLimitHits != earlier {
			t.Fatalf("pids_limit_hits %d while the run that forked is alive (pid %d); earlier runs account for %d", before.PidsLimitHits, run, earlier)
		}
	}
	if out, err := c.ctl("stop", "chaos"); err != nil {
		t.Fatalf("ctl stop chaos: %v\n%s", err, out)
	}
	st = c.status("chaos")
	if st.State != supervisor.StateStopped {
		t.Fatalf("chaos after stop: %s", st.State)
	}
	// The run that replied ended either by the stop or on its own just
	// before it, as the ones above did. Every run that forked, and only
	// those, has an exit naming pids_max with its count, and the status
	// adds the counts up.
	var limited []supervisor.Exit
	var refused uint64
	for _, e := range st.Exits {
		if e.Limit == "" {
			continue
		}
		m := pidsRefused.FindStringSubmatch(e.Reason)
		if e.Limit != "pids_max" || m == nil {
			t.Fatalf("exit %s: want limit pids_max and a reason matching %s", exitsText([]supervisor.Exit{e}), pidsRefused)
		}
		n, _ := strconv.ParseUint(m[1], 10, 64)
		refused += n
		limited = append(limited, e)
	}
	if len(limited) != died+1 {
		t.Fatalf("%d exits name a limit, want %d (the runs that forked): %s", len(limited), died+1, exitsText(st.Exits))
	}
	if st.PidsLimitHits == 0 || st.PidsLimitHits != refused {
		t.Fatalf("pids_limit_hits %d, the exits say %d fork(s) refused", st.PidsLimitHits, refused)
	}
	if st.OOMKills != 0 {
		t.Fatalf("oom_kills %d without a memory_max", st.OOMKills)
	}
	e := limited[len(limited)-1]
	how := "ended by the stop"
	if !strings.HasPrefix(e.Reason, "stopped: ") {
		how = "ended on its own before the stop"
	}
	t.Logf("the run that replied %s: exit %q; pids_limit_hits %d over %d run(s) (forks and threads refused, from pids.events)",
		how, e.Reason, st.PidsLimitHits, len(limited))
}

// threads is the number of threads of process pid.
func threads(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("/proc/%d/status has no Threads", pid)
	return 0
}

// TestForksTaskSpendsNoThreadPerChild: pids_max counts threads as well as
// processes, so a plugin whose forks task spent a thread on each child (a
// goroutine in cmd.Wait) reached the limit with half the children, and its
// Go runtime, unable to make a thread it needed, aborted (pthread_create:
// Resource temporarily unavailable), often before the task could reply.
// Without any limit, 20 children must cost the plugin no more than a
// couple of threads.
func TestForksTaskSpendsNoThreadPerChild(t *testing.T) {
	tmp := t.TempDir()
	// Go's thread count follows GOMAXPROCS: fixed, so a machine's core
	// count cannot move it.
	c := startContained(t, tmp, chaosPlugin(t, "chaos", "env = { GOMAXPROCS = \"2\" }"), "chaos")
	pid := c.status("chaos").PID
	before := threads(t, pid)
	fields := c.answer("chaos", 14, "20")
	if fields["started"] != "20" || fields["error"] != "" {
		t.Fatalf("forks 20 without a limit: %v", fields)
	}
	after := threads(t, pid)
	t.Logf("chaos (pid %d): %d threads before forks 20, %d after", pid, before, after)
	if after-before > 2 {
		t.Fatalf("20 sleeping children cost the plugin %d threads (%d → %d): under pids_max each one is a pid the children cannot have, "+
			"and the Go runtime aborts when it cannot make a thread", after-before, before, after)
	}
}

// cpuGroup is where the instance's cpu controller keeps its figures: the
// throttling counters and the quota, and beside them the usage.
type cpuGroup struct {
	stat, usage string // files
	quota       int64  // µs per period
	usageUnit   int64  // ns per unit of the usage file
}

// findCPUGroup finds the instance's cpu group from the kernel's layout,
// not from plugvisor's: a v1 cpu hierarchy (cpu.stat, cpu.cfs_quota_us;
// usage from cpuacct.usage or, failing that, cgroup2's cpu.stat), else the
// cgroup2 group (cpu.max, cpu.stat with usage_usec).
func findCPUGroup(t *testing.T, c *contained, instance string) cpuGroup {
	t.Helper()
	for _, dir := range instanceGroups(t, c.cmd.Process.Pid, instance) {
		if quota, err := os.ReadFile(filepath.Join(dir, "cpu.cfs_quota_us")); err == nil {
			g := cpuGroup{stat: filepath.Join(dir, "cpu.stat")}
			g.quota, _ = strconv.ParseInt(strings.TrimSpace(string(quota)), 10, 64)
			for _, acct := range instanceGroups(t, c.cmd.Process.Pid, instance) {
				if _, err := os.Stat(filepath.Join(acct, "cpuacct.usage")); err == nil {
					g.usage, g.usageUnit = filepath.Join(acct, "cpuacct.usage"), 1
				}
			}
			if g.usage == "" {
				g.usage, g.usageUnit = filepath.Join(c.status(instance).Cgroup, "cpu.stat"), 1000
			}
			return g
		}
	}
	dir := c.status(instance).Cgroup
	b, err := os.ReadFile(filepath.Join(dir, "cpu.max"))
	if err != nil {
		t.Fatalf("no cpu group of %s: neither v1 cpu.cfs_quota_us nor cgroup2 cpu.max (%v)", instance, err)
	}
	q, _, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	quota, _ := strconv.ParseInt(q, 10, 64)
	return cpuGroup{stat: filepath.Join(dir, "cpu.stat"), usage: filepath.Join(dir, "cpu.stat"), quota: quota, usageUnit: 1000}
}

// cpuFigures are one reading of the counters.
type cpuFigures struct {
	periods, throttled int64
	usage              int64 // ns
}

func (g cpuGroup) read(t *testing.T) cpuFigures {
	t.Helper()
	var f cpuFigures
	f.periods = statKey(t, g.stat, "nr_periods")
	f.throttled = statKey(t, g.stat, "nr_throttled")
	if strings.HasSuffix(g.usage, "cpu.stat") {
		f.usage = statKey(t, g.usage, "usage_usec") * g.usageUnit
		return f
	}
	b, err := os.ReadFile(g.usage)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", g.usage, err)
	}
	f.usage = n * g.usageUnit
	return f
}

// statKey reads one "key value" line of a cgroup stat file.
func statKey(t *testing.T, file, key string) int64 {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), " "); ok && k == key {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("%s: %s %q", file, key, v)
			}
			return n
		}
	}
	t.Fatalf("%s has no %s:\n%s", file, key, b)
	return 0
}

// spinRounds bounds the spins of TestCPUMaxThrottles.
const spinRounds = 5

// TestCPUMaxThrottles: cpu_max = "25%" is a CFS quota of 25 ms per 100 ms
// period. Two goroutines spinning for 3 s want far more; the kernel's own
// counters must show the group throttled and its usage within the quota of
// the periods it ran in (plus the two periods cut by the readings). These
// are relations between kernel counters, not timings, so they hold however
// loaded the machine is.
func TestCPUMaxThrottles(t *testing.T) {
	caps := layout(t)
	tmp := t.TempDir()
	c := startContained(t, tmp, chaosPlugin(t, "chaos", `cpu_max = "25%"`), "chaos")
	st := c.status("chaos")
	if !c.enforced(st, "cpu_max 25%", "cpu_max", caps, func(k *cgroup.Capabilities) cgroup.Support { return k.CPUMax }) {
		return
	}
	g := findCPUGroup(t, c, "chaos")
	if g.quota != 25000 {
		t.Fatalf("%s: quota %d µs, want 25000 (25%% of a 100 ms period)", g.stat, g.quota)
	}
	before := g.read(t)
	// One spin is enough unless the machine is so busy that the group
	// never got 25 ms of a period: then spin again, a bounded number of
	// times, and judge the whole window.
	var after cpuFigures
	rounds := 0
	for rounds < spinRounds && after.throttled <= before.throttled {
		fields := c.answer("chaos", 15, "2:3s")
		if fields["action"] != "spin" {
			t.Fatalf("spin replied %v", fields)
		}
		after = g.read(t)
		rounds++
	}
	periods, throttled, usage := after.periods-before.periods, after.throttled-before.throttled, after.usage-before.usage
	// The kernel's quota is charged per period with some overrun (about
	// 0.7 ms a period here): a tenth of slack over the periods it ran in,
	// plus the two periods the readings cut.
	bound := g.quota * 1000 * (periods*11/10 + 2) // ns
	t.Logf("cpu_max 25%% (%s; usage from %s): over %d spin(s) of 2 goroutines × 3 s, %d periods, %d throttled; usage %.1f ms, quota × (1.1 × periods + 2) = %.1f ms (%.0f%%)",
		g.stat, g.usage, rounds, periods, throttled, float64(usage)/1e6, float64(bound)/1e6, 100*float64(usage)/float64(bound))
	if throttled <= 0 {
		t.Fatalf("nr_throttled went from %d to %d over %d spins: two spinning goroutines were never throttled under 25%%", before.throttled, after.throttled, rounds)
	}
	if usage <= 0 || usage > bound {
		t.Fatalf("usage %d ns over %d periods: want 0 < usage ≤ %d (quota %d µs × (1.1 × periods + 2))", usage, periods, bound, g.quota)
	}
	if st := c.status("chaos"); st.State != supervisor.StateRunning || st.PID == 0 {
		t.Fatalf("chaos after the spin: %s", st.State)
	}
}

// enforced checks that the instance's limits read as want and reports
// whether this machine enforces key. Where it does not, the status must
// say so, and that fallback is what the test has tested.
func (c *contained) enforced(st supervisor.PluginStatus, want, key string, caps *cgroup.Capabilities, support func(*cgroup.Capabilities) cgroup.Support) bool {
	c.t.Helper()
	if st.Limits != want {
		c.t.Fatalf("%s limits %q, want %q", st.Instance, st.Limits, want)
	}
	if caps != nil && support(caps).OK() {
		c.t.Logf("%s enforced by %s", key, support(caps).How)
		return true
	}
	if !strings.Contains(st.LimitsNotEnforced, key) {
		c.t.Fatalf("%s not enforceable here, but limits_not_enforced is %q", key, st.LimitsNotEnforced)
	}
	c.t.Logf("%s not enforced on this machine: %s", key, st.LimitsNotEnforced)
	return false
}
