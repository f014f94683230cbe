package cgroup_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/cgroup"
)

const mib = 1 << 20

// enforced reports whether the layout enforces a limit. Where it cannot,
// it tests the fallback there instead, and says so: SetLimits reports the
// limit with ErrNotEnforced rather than pretending.
func enforced(t *testing.T, m *cgroup.Manager, s cgroup.Support, what string, l cgroup.Limits) bool {
	t.Helper()
	if s.OK() {
		return true
	}
	g := newGroup(t, m, "unenforced")
	if err := g.SetLimits(l); !errors.Is(err, cgroup.ErrNotEnforced) {
		t.Fatalf("SetLimits(%+v) = %v with %s not enforced, want ErrNotEnforced", l, err, what)
	}
	t.Logf("%s not enforced here (%s): tested that SetLimits says so instead", what, s.Why)
	return false
}

// TestMemoryMaxOOMKills: a process allocating past memory_max is killed
// by the kernel, and Stats counts the OOM kill that says why.
func TestMemoryMaxOOMKills(t *testing.T) {
	m, _, ok := newManager(t)
	if !ok {
		return
	}
	if !enforced(t, m, m.Capabilities().MemoryMax, "memory_max", cgroup.Limits{MemoryMax: 64 * mib}) {
		return
	}
	g := newGroup(t, m, "hog")
	if err := g.SetLimits(cgroup.Limits{MemoryMax: 64 * mib}); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := spawn(t, g, []string{helperEnv + "=alloc"}, self)
	<-p.done
	var exit *exec.ExitError
	if !errors.As(p.err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("allocator ended with %v, want SIGKILL", p.err)
	}
	s, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.OOMKills < 1 {
		t.Errorf("Stats %+v: no OOM kill counted", s)
	}
	if s.MemoryPeak > 64*mib+mib || s.MemoryPeak < mib {
		t.Errorf("MemoryPeak %d, want at most the 64MiB limit", s.MemoryPeak)
	}
}

// TestPidsMaxStopsForkLoop: a shell forking sleeps in a loop is refused
// past pids_max; the count never passes it, and the refusals are counted.
func TestPidsMaxStopsForkLoop(t *testing.T) {
	m, _, ok := newManager(t)
	if !ok {
		return
	}
	if !enforced(t, m, m.Capabilities().PidsMax, "pids_max", cgroup.Limits{PidsMax: 8}) {
		return
	}
	g := newGroup(t, m, "forker")
	const max = 8
	if err := g.SetLimits(cgroup.Limits{PidsMax: max}); err != nil {
		t.Fatal(err)
	}
	spawn(t, g, nil, "sh", "-c", "read x; while :; do sleep 1000 & done")
	waitFor(t, "a refused fork", func() (bool, error) {
		s, err := g.Stats()
		if s.PidsCurrent > max {
			t.Fatalf("pids.current %d past pids_max %d", s.PidsCurrent, max)
		}
		return s.PidsMaxHits > 0, err
	})
	pids, err := g.Procs()
	if err != nil || len(pids) > max {
		t.Fatalf("Procs = %v, %v: more than pids_max %d", pids, err, max)
	}
}

// TestCPUMaxHoldsShare: a spinner under cpu_max 0.25 uses at most about a
// quarter of a core, by the group's own usage counter. The bound is twice
// the share, and only an upper one: a loaded machine may give it less.
func TestCPUMaxHoldsShare(t *testing.T) {
	m, _, ok := newManager(t)
	if !ok {
		return
	}
	if !enforced(t, m, m.Capabilities().CPUMax, "cpu_max", cgroup.Limits{CPUMax: 0.25}) {
		return
	}
	g := newGroup(t, m, "spinner")
	const share = 0.25
	if err := g.SetLimits(cgroup.Limits{CPUMax: share}); err != nil {
		t.Fatal(err)
	}
	spawn(t, g, nil, "sh", "-c", "read x; while :; do :; done")
	waitFor(t, "the spinner on a CPU", func() (bool, error) {
		s, err := g.Stats()
		return s.CPU > 0, err
	})
	before, start := stats(t, g), time.Now()
	// The interval being measured, not a wait for an event: the bound
	// holds for an interval of any length.
	time.Sleep(time.Second)
	after, elapsed := stats(t, g), time.Since(start)
	used := float64(after.CPU-before.CPU) / float64(elapsed)
	t.Logf("used %.3f of a core under cpu_max %.2f", used, share)
	if used > 2*share {
		t.Fatalf("used %.3f of a core, cpu_max is %.2f", used, share)
	}
	if used <= 0 {
		t.Fatalf("no CPU use measured while spinning (%v then %v)", before.CPU, after.CPU)
	}
}

func stats(t *testing.T, g *cgroup.Group) cgroup.Stats {
	t.Helper()
	s, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSetLimitsFiles reads back what SetLimits wrote, and that zero limits
// go back to none, from whichever files the layout maps them to.
func TestSetLimitsFiles(t *testing.T) {
	m, _, ok := newManager(t)
	if !ok {
		return
	}
	g := newGroup(t, m, "limited")
	c := m.Capabilities()
	if err := g.SetLimits(cgroup.Limits{MemoryMax: 64 * mib, MemoryHigh: 48 * mib, CPUMax: 0.5, PidsMax: 32}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	if c.PidsMax.OK() {
		want["pids.max"] = "32"
	}
	if strings.Contains(c.MemoryMax.How, "v1") {
		want["memory.limit_in_bytes"] = "67108864"
		want["memory.soft_limit_in_bytes"] = "50331648"
	} else if c.MemoryMax.OK() {
		want["memory.max"], want["memory.high"] = "67108864", "50331648"
	}
	if strings.Contains(c.CPUMax.How, "v1") {
		want["cpu.cfs_quota_us"] = "50000"
	} else if c.CPUMax.OK() {
		want["cpu.max"] = "50000 100000"
	}
	checkFiles(t, g, want)
	if err := g.SetLimits(cgroup.Limits{}); err != nil {
		t.Fatalf("resetting limits: %v", err)
	}
	if _, ok := want["pids.max"]; ok {
		checkFiles(t, g, map[string]string{"pids.max": "max"})
	}
}

func checkFiles(t *testing.T, g *cgroup.Group, want map[string]string) {
	t.Helper()
	for name, v := range want {
		if got := readIn(g, name); got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
}

// readIn finds name in whichever of the group's directories has it.
func readIn(g *cgroup.Group, name string) string {
	for _, dir := range g.Dirs() {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return "(no " + name + ")"
}
