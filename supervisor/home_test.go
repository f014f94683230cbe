package supervisor

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/registry"
)

// ownUser is a plugin of the supervisor's own user, for processAttrs.
var ownUser = &registry.Plugin{UID: -1, GID: -1}

// A process forked by the shared forker has the Pdeathsig of every plugin,
// tied to the forker's thread: it dies with that thread, which is why the
// thread lives as long as the supervisor.
func TestSharedForkerPdeathsig(t *testing.T) {
	f, err := newForker(func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	cmd, exited := forkSleeper(t, f.fork, f.close)
	select {
	case <-exited:
		t.Fatal("the child exited while its forking thread lives")
	default:
	}
	f.close()
	<-exited
	cmd.Wait()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended %v; want killed by its Pdeathsig when the forker's thread ended", cmd.ProcessState)
	}
}

func testContainment(t *testing.T, off bool) *containment {
	t.Helper()
	c := newContainment(slog.New(slog.DiscardHandler), off)
	t.Cleanup(func() {
		if err := c.close(); err != nil {
			t.Errorf("close containment: %v", err)
		}
	})
	return c
}

// Only an instance that needs it has a thread of its own: one whose
// groups have v1 directories, which its thread joins so that the plugin is
// in them from its first instruction. On a hybrid machine that is one with
// limits (one without gets a cgroup2 group alone, forked from the shared
// thread); on a v1-only machine every instance, by design (its v1 groups
// are its only containment); on cgroup2 alone, and without cgroups, none.
// The machine's own layout is one subtest, no cgroups the other.
func TestHomeThreadOnlyForV1Limits(t *testing.T) {
	for _, tc := range []struct {
		name string
		off  bool
	}{{"this machine", false}, {"no cgroups", true}} {
		t.Run(tc.name, func(t *testing.T) {
			c := testContainment(t, tc.off)
			if c.mgr == nil {
				t.Logf("path: no cgroups (%s)", c.without)
				checkHomesWithoutCgroups(t, c)
				return
			}
			t.Logf("path: %s", c.mgr.Layout().Describe())
			checkHomes(t, c)
		})
	}
}

func checkHomesWithoutCgroups(t *testing.T, c *containment) {
	for _, limited := range []bool{true, false} {
		s := startInHome(t, c, fmt.Sprintf("bare-%v", limited), limited)
		if s.home.group != nil || s.home.own != nil {
			t.Fatalf("without cgroups (limited %v): group %v, own thread %v; want neither", limited, s.home.group, s.home.own != nil)
		}
		if pgid, err := syscall.Getpgid(s.pid); err != nil || pgid != s.pid {
			t.Fatalf("the plugin's process group %d (%v); want its own, %d", pgid, err, s.pid)
		}
	}
}

func checkHomes(t *testing.T, c *containment) {
	layout := c.mgr.Layout()
	v1 := len(layout.V1) > 0
	limited := startInHome(t, c, "limited", true)
	if got := limited.home.own != nil; got != v1 {
		t.Fatalf("limited instance has its own thread: %v; want %v (v1 hierarchies: %v)", got, v1, v1)
	}
	l := registry.Limits{MemoryMax: 64 << 20}
	if _, err := c.setLimits(limited.home.group, l); err != nil {
		t.Fatal(err)
	}
	for _, dir := range limited.home.group.Dirs() {
		if !listed(t, dir, limited.pid) {
			t.Errorf("the limited plugin is not in its group %s", dir)
		}
		if _, err := os.Stat(filepath.Join(dir, "memory.limit_in_bytes")); err == nil {
			if got := readTrim(t, filepath.Join(dir, "memory.limit_in_bytes")); got != strconv.Itoa(64<<20) {
				t.Errorf("v1 memory limit %s, want %d", got, 64<<20)
			}
		}
	}
	plain := startInHome(t, c, "plain", false)
	v1Only := layout.V2 == nil
	if got := plain.home.own != nil; got != v1Only {
		t.Fatalf("an instance without limits or sandbox has a thread of its own: %v; want %v (v1 only: %v)", got, v1Only, v1Only)
	}
	dirs := plain.home.group.Dirs()
	if !v1Only && len(dirs) != 1 {
		t.Fatalf("an instance without limits has groups %v; want its cgroup2 one alone", dirs)
	}
	for _, dir := range dirs {
		if !listed(t, dir, plain.pid) {
			t.Fatalf("the plain plugin is not in its group %s", dir)
		}
	}
}

// started is a process forked from a home of its own instance.
type started struct {
	home   *home
	cmd    *exec.Cmd
	pid    int
	exited <-chan struct{}
}

func startInHome(t *testing.T, c *containment, name string, limited bool) *started {
	t.Helper()
	h, _, err := newHome(c, name, nil, limited)
	if err != nil {
		t.Fatal(err)
	}
	cmd, exited := forkSleeper(t, h.fork, func() { h.close() })
	s := &started{home: h, cmd: cmd, pid: cmd.Process.Pid, exited: exited}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.exited
		cmd.Wait()
		if err := h.close(); err != nil {
			t.Errorf("close home: %v", err)
		}
	})
	return s
}

// forkSleeper forks a long sleep as a plugin of the supervisor's user is
// forked, through fork; undo runs if that fails.
func forkSleeper(t *testing.T, fork func(*exec.Cmd, *children) error, undo func()) (*exec.Cmd, <-chan struct{}) {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	cmd.SysProcAttr = processAttrs(ownUser)
	if err := fork(cmd, newChildren()); err != nil {
		undo()
		t.Fatal(err)
	}
	exited, _ := watchExit(cmd.Process.Pid, false)
	return cmd, exited
}

func listed(t *testing.T, dir string, pid int) bool {
	t.Helper()
	return slices.Contains(strings.Fields(readTrim(t, filepath.Join(dir, "cgroup.procs"))), strconv.Itoa(pid))
}

func readTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// Stopping a plugin reaps what it left, by itself: the zombies of children
// that escaped its process group with setsid (found through its cgroup) or
// stayed in it (found through the group id). No SIGCHLD sweep runs in this
// test, so nothing else can have reaped them.
func TestCollectReapsWithoutSweep(t *testing.T) {
	if err := becomeSubreaper(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		off     bool   // no cgroups
		spawner string // how the plugin starts its two children
	}{
		{"cgroup, setsid escapees", false, "setsid sleep 1000 & setsid sleep 1000 &"},
		{"process group only", true, "sleep 1000 & sleep 1000 &"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testContainment(t, tc.off)
			if !tc.off && c.mgr == nil {
				// Without cgroups a setsid escapee is out of reach by
				// design (see containment.describe); the process group
				// case is this machine's whole path.
				t.Logf("path: no cgroups (%s): escapees are not reached; the process group case covers collect", c.without)
				return
			}
			l := &launcher{log: slog.New(slog.DiscardHandler), kids: newChildren(), contain: c}
			h, _, err := newHome(c, "reaped", nil, false)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { h.close() })
			p, kids := startPlugin(t, l, h, tc.spawner+" echo started; exec sleep 1000")
			syscall.Kill(p.pid, syscall.SIGKILL)
			<-p.exited
			p.collect(10*time.Second, l)
			if p.state == nil || p.state.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("first process: state %v, wait error %v", p.state, p.waitErr)
			}
			for _, pid := range kids {
				if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("child %d of the plugin still there (state %s) after collect", pid, stateOf(t, pid))
				}
			}
			// Only the plugin's own: an earlier test's leftovers are not
			// this collect's to reap.
			if z := zombieChildren(append(kids, p.pid)); len(z) > 0 {
				t.Errorf("zombie children of the supervisor after collect: %v", z)
			}
		})
	}
}

// startPlugin forks script from h as a plugin and returns once its two
// children are running (the setsid ones in sessions of their own).
func startPlugin(t *testing.T, l *launcher, h *home, script string) (*process, []int) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = processAttrs(ownUser)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.fork(cmd, l.kids); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, pid: cmd.Process.Pid, pgid: cmd.Process.Pid, group: h.group}
	p.exited, _ = watchExit(p.pid, false)
	if _, err := io.ReadFull(out, make([]byte, len("started\n"))); err != nil {
		t.Fatal(err)
	}
	var kids []int
	waitUntil(t, "the plugin's two children", func() bool {
		kids = childrenOf(p.pid)
		return len(kids) == 2 && slices.IndexFunc(kids, func(pid int) bool { return stateOf(t, pid) == "R" }) < 0
	})
	if p.group != nil {
		waitUntil(t, "the children in sessions of their own", func() bool {
			return slices.IndexFunc(kids, func(pid int) bool { return sessionOf(pid) == sessionOf(p.pid) }) < 0
		})
	}
	return p, kids
}

// waitUntil polls cond; the deadline only turns a hang into a failure.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for pause := time.Millisecond; !cond(); pause = min(2*pause, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(pause)
	}
}

func childrenOf(parent int) []int {
	var out []int
	buf := make([]byte, 0, 1024)
	for pid := range eachProcess {
		if st, ok := readStat(pid, buf); ok && st.ppid == parent {
			out = append(out, pid)
		}
	}
	return out
}

// zombieChildren are those of among that are zombies of the supervisor.
func zombieChildren(among []int) []int {
	var out []int
	buf := make([]byte, 0, 1024)
	for _, pid := range among {
		if st, ok := readStat(pid, buf); ok && st.ppid == os.Getpid() && st.state == 'Z' {
			out = append(out, pid)
		}
	}
	return out
}

// sessionOf is field 6 of /proc/<pid>/stat.
func sessionOf(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	if f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]); len(f) > 3 {
		return f[3]
	}
	return ""
}
