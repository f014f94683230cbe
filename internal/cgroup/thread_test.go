package cgroup_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plugvisor/plugvisor/internal/cgroup"
	"github.com/plugvisor/plugvisor/internal/sandbox"
)

// TestBornInGroup forks a child from a thread that joined the group's v1
// directories (and clones it into the cgroup2 one): the child is in every
// directory of the group from its first instruction, with no go-ahead
// needed. The thread stays; Procs does not list the test process for it,
// and the group empties when the thread has ended and the child is killed.
func TestBornInGroup(t *testing.T) {
	m, l, ok := newManager(t)
	if !ok {
		return
	}
	g := newGroup(t, m, "born")
	if !g.NeedsJoin() {
		t.Logf("layout %s has no v1 groups: nothing to join, the child is only cloned into cgroup2", l.Mode)
	}
	cmd := exec.Command("/bin/sleep", "1000")
	if fd, ok := g.CgroupFD(); ok {
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	}
	if err := forkJoined(cmd, g); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Read at once, without waiting: a child that was only moved after
	// starting could still be outside here.
	b, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if want := wantedPaths(l, g); !hasAll(string(b), want) {
		t.Fatalf("child's cgroups:\n%s\nwant all of %v", b, want)
	}
	pids, err := g.Procs()
	if err != nil || !slices.Equal(pids, []int{cmd.Process.Pid}) {
		t.Fatalf("Procs = %v, %v; want only the child %d (not the test process, whose thread joined)", pids, err, cmd.Process.Pid)
	}
}

// forkJoined starts cmd from a locked thread that joined g, and ends that
// thread once the child has started. Never the main thread: Go cannot end
// that one, and it would stay in g for good.
func forkJoined(cmd *exec.Cmd, g *cgroup.Group) (err error) {
	sandbox.OnThread(func() {
		if err = g.JoinThread(unix.Gettid()); err != nil {
			return
		}
		err = cmd.Start()
	})
	return err
}

// TestReopenedKillsAndHolds is the watchdog's view of a group: only its
// directories. Killing through a reopened group still reaches a process
// that left its session, and Holds knows the group's processes (and no
// one else's) by their /proc/<pid>/cgroup.
func TestReopenedKillsAndHolds(t *testing.T) {
	m, _, ok := newManager(t)
	if !ok {
		return
	}
	g := newGroup(t, m, "reopened")
	p := spawn(t, g, nil, "sh", "-c", escaper)
	var seen []int
	waitFor(t, "the escaper and its three sleeps", func() (bool, error) {
		pids, err := g.Procs()
		seen = pids
		return len(pids) >= 4, err
	})
	for _, pid := range seen {
		if !m.Holds(pid) {
			t.Errorf("Holds(%d) = false for a process of the group", pid)
		}
	}
	if m.Holds(os.Getpid()) {
		t.Errorf("Holds(the test process) = true")
	}
	r := cgroup.Reopen(g.Dirs())
	if err := r.Kill(); err != nil {
		t.Fatal(err)
	}
	waitEmpty(t, r)
	<-p.done
	for _, pid := range seen {
		if running(pid) {
			t.Errorf("pid %d survived the kill of the reopened group", pid)
		}
	}
}

// TestNextRunAfterKill: a process cloned into a cgroup2 group that was
// killed before dies at once on this kernel; the group of the next run
// has a fresh cgroup2 directory, and its process lives.
func TestNextRunAfterKill(t *testing.T) {
	m, l, ok := newManager(t)
	if !ok {
		return
	}
	g := newGroup(t, m, "runs")
	first := spawn(t, g, nil, "sh", "-c", "read x; exec sleep 1000")
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	waitEmpty(t, g)
	<-first.done
	next, err := g.NextRun()
	if err != nil {
		t.Fatal(err)
	}
	if l.V2 == nil {
		if next != g {
			t.Fatal("without cgroup2 NextRun must keep the group")
		}
		t.Logf("layout %s has no cgroup2: the group is kept as it is", l.Mode)
	} else if next.Dirs()[0] == g.Dirs()[0] {
		t.Fatalf("NextRun kept the killed cgroup2 directory %s", g.Dirs()[0])
	}
	t.Cleanup(func() { removeNow(t, next) })
	second := spawn(t, next, nil, "sh", "-c", "read x; exec sleep 1000")
	waitFor(t, "the second process in the group", func() (bool, error) {
		pids, err := next.Procs()
		return slices.Contains(pids, second.cmd.Process.Pid), err
	})
	select {
	case <-second.done:
		t.Fatalf("the process of the next run died: %v", second.err)
	default:
	}
}

func removeNow(t *testing.T, g *cgroup.Group) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := g.Remove(ctx); err != nil {
		t.Errorf("remove group: %v", err)
	}
}

// TestSweepStale leaves a parent of a dead "supervisor" with a running
// process in a group of it, as a supervisor and its watchdog killed at once
// would: the sweep kills the process and removes the directories, and
// leaves the parents of live owners alone.
func TestSweepStale(t *testing.T) {
	m, _, ok := newManager(t)
	if !ok {
		return
	}
	g := newGroup(t, m, "stale")
	p := spawn(t, g, nil, "sh", "-c", "read x; exec sleep 1000")
	const prefix = "plugvisor-sweeptest-"
	var parents []string
	for _, dir := range g.Dirs() {
		parents = append(parents, filepath.Dir(dir))
	}
	dead := func(name string) bool { return strings.HasPrefix(name, prefix) }
	removed, err := m.SweepStale(context.Background(), dead)
	if err != nil || len(removed) != 0 {
		t.Fatalf("sweep with no stale parent: %v, %v", removed, err)
	}
	// A stale parent beside ours in every hierarchy, owned by pid 999999999
	// (above any pid_max), with the running process moved into it.
	var stale []string
	for _, parent := range parents {
		dir := filepath.Join(filepath.Dir(parent), prefix+"999999999-x", "inst")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		stale = append(stale, filepath.Dir(dir))
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(p.cmd.Process.Pid)), 0); err != nil {
			t.Fatal(err)
		}
	}
	removed, err = m.SweepStale(context.Background(), dead)
	if err != nil {
		t.Fatal(err)
	}
	<-p.done
	slices.Sort(removed)
	slices.Sort(stale)
	if !slices.Equal(removed, stale) {
		t.Fatalf("removed %v, want %v", removed, stale)
	}
	for _, dir := range stale {
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%s survived the sweep", dir)
		}
	}
	none := func(string) bool { return false }
	if removed, _ := m.SweepStale(context.Background(), none); len(removed) != 0 {
		t.Fatalf("swept parents not named stale: %v", removed)
	}
}
