package cgroup_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/internal/cgroup"
)

// An instance without limits gets a cgroup2 directory alone where the
// machine has cgroup2: no v1 group for a thread to join. Its Usage still
// says its memory, from its members' statm when there is no memory
// controller, and its CPU from cpu.stat.
func TestUnlimitedGroupUsage(t *testing.T) {
	m, l, ok := newManager(t)
	if !ok {
		return
	}
	g, err := m.NewUnlimitedGroup("bare")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeNow(t, g) })
	switch {
	case l.V2 != nil && (len(g.Dirs()) != 1 || g.NeedsJoin()):
		t.Fatalf("with cgroup2 (%s), an unlimited group has dirs %v, needs join %v; want the cgroup2 one alone", l.Describe(), g.Dirs(), g.NeedsJoin())
	case l.V2 == nil && len(g.Dirs()) != len(l.V1):
		t.Fatalf("v1 only: an unlimited group has dirs %v; want one per hierarchy", g.Dirs())
	}
	p := spawn(t, g, nil, "sh", "-c", "read x; exec sleep 1000")
	pid := p.cmd.Process.Pid
	waitFor(t, "the child in its group", func() (bool, error) {
		pids, err := g.Procs()
		return len(pids) == 1 && pids[0] == pid, err
	})
	// The child is still reading its go line or loading sleep when it
	// first shows in the group, and its RSS moves while it does. Usage
	// reuses a reading while the group uses almost no CPU, so its first
	// reading must come once the child sleeps for good: sleep, asleep.
	waitFor(t, "the child asleep in sleep", func() (bool, error) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		s := string(b)
		return strings.HasPrefix(s[strings.IndexByte(s, ' ')+1:], "(sleep) S "), err
	})
	page := int64(os.Getpagesize())
	for i := range 2 { // the second read is through the files the first kept open
		_, m, err := g.Usage(page)
		if err != nil {
			t.Fatal(err)
		}
		if m <= 0 {
			t.Fatalf("Usage %d: memory %d for a group with a running process", i, m)
		}
	}
	if _, err := g.LimitHits(); err != nil {
		t.Fatal(err)
	}
	if l.V2 != nil && len(l.V2.Use) == 0 {
		// No memory controller in cgroup2: the figure is the member's RSS.
		waitFor(t, "a Usage between two equal statm reads", func() (bool, error) {
			before := statmRSS(t, pid)
			_, mem, err := g.Usage(page)
			after := statmRSS(t, pid)
			if err != nil || before != after {
				return false, err
			}
			if lo, hi := (before-64)*page, (before+64)*page; mem < lo || mem > hi {
				t.Fatalf("Usage memory %d, the member's statm says %d pages", mem, before)
			}
			return true, nil
		})
	}
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	waitEmpty(t, g)
}

// A group without a pids controller may hold any number of processes; the
// descriptors Usage keeps open for their statm are capped, the rest read
// and closed each time. Covers the no-memory-controller path (cgroup2
// without controllers, as on a hybrid machine); with a memory controller
// no statm is read and the bound holds trivially, which the log says.
func TestUsageBoundsKeptMembers(t *testing.T) {
	m, l, ok := newManager(t)
	if !ok {
		return
	}
	g, err := m.NewUnlimitedGroup("many")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeNow(t, g) })
	const sleepers = 100
	spawn(t, g, nil, "sh", "-c", "read x; for i in $(seq 100); do sleep 1000 & done; exec sleep 1000")
	waitFor(t, "the sleepers in the group", func() (bool, error) {
		pids, err := g.Procs()
		return len(pids) == sleepers+1, err
	})
	for range 2 {
		if _, _, err := g.Usage(int64(os.Getpagesize())); err != nil {
			t.Fatal(err)
		}
	}
	n := statmFDs(t)
	t.Logf("layout %s: %d statm descriptors open for %d members", l.Describe(), n, sleepers+1)
	if n > 32 {
		t.Fatalf("%d statm descriptors held open for a group of %d processes; want at most 32", n, sleepers+1)
	}
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	waitEmpty(t, g)
}

// Remove closes the files Usage keeps open even when it fails (here its
// wait for the group to empty is cut short), and a read racing the close
// keeps none open after it. The group is a directory made to look like a
// cgroup2 one that stays populated, so the failure is certain.
func TestRemoveClosesUsageFiles(t *testing.T) {
	sleeper := exec.Command("sleep", "1000")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	for i := range 50 {
		dir := t.TempDir()
		for name, value := range map[string]string{
			"cgroup.events": "populated 1\n",
			"cgroup.kill":   "",
			"cpu.stat":      "usage_usec 5\n",
			"cgroup.procs":  strconv.Itoa(sleeper.Process.Pid) + "\n",
		} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		g := cgroup.Reopen([]string{dir})
		if _, _, err := g.Usage(int64(os.Getpagesize())); err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
					g.Usage(int64(os.Getpagesize()))
				}
			}
		}()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := g.Remove(ctx); err == nil {
			t.Fatal("Remove of a group that stays populated succeeded")
		}
		close(stop)
		<-done
		if n := openUnder(t, dir) + statmFDs(t); n > 0 {
			t.Fatalf("round %d: %d descriptors of the group left open after a failed Remove", i, n)
		}
	}
}

// statmRSS is the resident pages /proc/<pid>/statm reports.
func statmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		t.Fatalf("statm of %d: %q", pid, b)
	}
	rss, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatalf("statm of %d: %v", pid, err)
	}
	return rss
}

// statmFDs counts this process's descriptors open on a /proc/<pid>/statm.
func statmFDs(t *testing.T) int {
	t.Helper()
	return countFDs(t, func(target string) bool {
		return strings.HasPrefix(target, "/proc/") && strings.HasSuffix(target, "/statm")
	})
}

// openUnder counts this process's descriptors open on files under dir.
func openUnder(t *testing.T, dir string) int {
	t.Helper()
	return countFDs(t, func(target string) bool { return strings.HasPrefix(target, dir+"/") })
}

func countFDs(t *testing.T, match func(target string) bool) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && match(target) {
			n++
		}
	}
	return n
}
