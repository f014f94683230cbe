package cgroup_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/cgroup"
)

// TestSpawnIntoGroup starts a child cloned into the cgroup2 group and
// joined to the v1 groups, and reads /proc/<pid>/cgroup to see it in the
// group in every hierarchy the layout uses.
func TestSpawnIntoGroup(t *testing.T) {
	m, l, ok := newManager(t)
	if !ok {
		return
	}
	g := newGroup(t, m, "sleeper")
	p := spawn(t, g, nil, "sh", "-c", "read x; exec sleep 1000")
	want := wantedPaths(l, g)
	waitFor(t, "the child in its group", func() (bool, error) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/cgroup")
		return hasAll(string(b), want), err
	})
	if ok, err := g.Populated(); err != nil || !ok {
		t.Fatalf("Populated = %v, %v with a child running", ok, err)
	}
}

// wantedPaths are the group's directories as /proc/<pid>/cgroup names
// them: each relative to its hierarchy's mount.
func wantedPaths(l *cgroup.Layout, g *cgroup.Group) []string {
	var mounts []string
	if l.V2 != nil {
		mounts = append(mounts, l.V2.Mount)
	}
	for _, t := range l.V1 {
		mounts = append(mounts, t.Mount)
	}
	var want []string
	for i, dir := range g.Dirs() {
		want = append(want, strings.TrimPrefix(dir, mounts[i]))
	}
	return want
}

func hasAll(procCgroup string, paths []string) bool {
	var have []string
	for line := range strings.Lines(procCgroup) {
		if parts := strings.SplitN(strings.TrimSpace(line), ":", 3); len(parts) == 3 {
			have = append(have, parts[2])
		}
	}
	for _, p := range paths {
		if !slices.Contains(have, p) {
			return false
		}
	}
	return true
}

// escaper is a plugin that leaves its session and double-forks: killing
// its process group, or its pid, would leave the rest running.
const escaper = `read x; setsid sh -c "sleep 1000 & sleep 1000" & sleep 1000`

func TestKillEscapers(t *testing.T) {
	testKillEscapers(t, func(*cgroup.Group) {})
}

// TestKillEscapersFreezer runs the kill machines without cgroup.kill use:
// freeze, SIGKILL every listed pid, thaw, until nothing new is listed.
func TestKillEscapersFreezer(t *testing.T) {
	testKillEscapers(t, cgroup.ForceKillEach)
}

func testKillEscapers(t *testing.T, prepare func(*cgroup.Group)) {
	m, _, ok := newManager(t)
	if !ok {
		return
	}
	g := newGroup(t, m, "escaper")
	prepare(g)
	p := spawn(t, g, nil, "sh", "-c", escaper)
	sid, err := sessionOf(p.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	var seen []int
	waitFor(t, "a process in another session, and three sleeps", func() (bool, error) {
		pids, err := g.Procs()
		seen = pids
		return len(pids) >= 4 && otherSession(pids, sid), err
	})
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	waitEmpty(t, g)
	<-p.done
	for _, pid := range seen {
		if running(pid) {
			t.Errorf("pid %d survived the kill", pid)
		}
	}
	if pids, err := g.Procs(); err != nil || len(pids) != 0 {
		t.Fatalf("Procs after kill = %v, %v", pids, err)
	}
}

func otherSession(pids []int, sid int) bool {
	for _, pid := range pids {
		if s, err := sessionOf(pid); err == nil && s != sid {
			return true
		}
	}
	return false
}

// running says pid exists and is not a zombie waiting for pid 1 to reap.
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	return !strings.HasPrefix(strings.TrimSpace(s[strings.LastIndexByte(s, ')')+1:]), "Z")
}

// TestWaitEmptyHonoursContext: with a child still running, WaitEmpty ends
// with the context's error, not a hang or a false "empty".
func TestWaitEmptyHonoursContext(t *testing.T) {
	m, _, ok := newManager(t)
	if !ok {
		return
	}
	g := newGroup(t, m, "busy")
	spawn(t, g, nil, "sh", "-c", "read x; exec sleep 1000")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := g.WaitEmpty(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitEmpty = %v, want the deadline", err)
	}
}

// TestRemoveEmptiesAndDeletes: Remove alone kills, waits and rmdirs, and
// a second Remove is harmless.
func TestRemoveEmptiesAndDeletes(t *testing.T) {
	m, _, ok := newManager(t)
	if !ok {
		return
	}
	g := newGroup(t, m, "removed")
	spawn(t, g, nil, "sh", "-c", escaper)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := g.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	for _, dir := range g.Dirs() {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after Remove: %v", dir, err)
		}
	}
	if err := g.Remove(ctx); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
}

func TestGroupNames(t *testing.T) {
	m, _, ok := newManager(t)
	if !ok {
		return
	}
	for _, bad := range []string{"", ".", "..", "a/b", "a\nb", strings.Repeat("x", 201)} {
		if g, err := m.NewGroup(bad); err == nil {
			g.Remove(context.Background())
			t.Errorf("NewGroup(%q) succeeded", bad)
		}
	}
	newGroup(t, m, "ok")
	if _, err := m.NewGroup("ok"); err == nil {
		t.Fatal("a second group of one name succeeded")
	}
}
