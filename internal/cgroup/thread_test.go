package cgroup_test

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/plugvisor/plugvisor/internal/cgroup"
)

// TestBornInGroup forks a child from a thread that joined the group's v1
// directories (and clones it into the cgroup2 one): the child is in every
// directory of the group from its first instruction, with no go-ahead
// needed, and the thread is back in the test's own cgroups afterwards.
func TestBornInGroup(t *testing.T) {
	m, l, ok := newManager(t)
	if !ok {
		return
	}
	g := newGroup(t, m, "born")
	mv, err := m.ThreadMove(g)
	if err != nil {
		t.Fatal(err)
	}
	defer mv.Close()
	if !g.NeedsJoin() {
		t.Logf("layout %s has no v1 groups: the move is empty and the child is only cloned into cgroup2", l.Mode)
	}
	cmd := exec.Command("/bin/sleep", "1000")
	if fd, ok := g.CgroupFD(); ok {
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	}
	before, after, err := forkJoined(cmd, mv)
	if err != nil {
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
	if before != after {
		t.Fatalf("the forking thread did not go home:\nbefore %s\nafter %s", before, after)
	}
}

// forkJoined starts cmd from a locked thread inside the move, and returns
// the thread's cgroups before joining and after leaving.
func forkJoined(cmd *exec.Cmd, mv *cgroup.ThreadMove) (before, after string, err error) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		tid := unix.Gettid()
		own := "/proc/self/task/" + strconv.Itoa(tid) + "/cgroup"
		b, _ := os.ReadFile(own)
		before = string(b)
		if err = mv.Join(tid); err != nil {
			return
		}
		err = cmd.Start()
		if lerr := mv.Leave(tid); err == nil {
			err = lerr
		}
		b, _ = os.ReadFile(own)
		after = string(b)
	}()
	<-done
	return before, after, err
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
