package cgroup_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/cgroup"
)

// newManager makes a manager with a test name and removes its parents at
// cleanup, failing the test if any directory survives. Without usable
// cgroups it tests the fallback instead and reports false.
func newManager(t *testing.T) (*cgroup.Manager, *cgroup.Layout, bool) {
	t.Helper()
	l, ok := realLayout(t)
	if !ok {
		return nil, nil, false
	}
	name := fmt.Sprintf("%s%d-%s", testPrefix, os.Getpid(), strings.ReplaceAll(t.Name(), "/", "_"))
	m, err := cgroup.New(l, cgroup.Options{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close manager: %v", err)
		}
		for _, base := range bases(l) {
			if _, err := os.Stat(filepath.Join(base, name)); err == nil {
				t.Errorf("leftover %s", filepath.Join(base, name))
			}
		}
	})
	return m, l, true
}

func newGroup(t *testing.T, m *cgroup.Manager, name string) *cgroup.Group {
	t.Helper()
	g, err := m.NewGroup(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		removeNow(t, g)
		for _, dir := range g.Dirs() {
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("leftover %s", dir)
			}
		}
	})
	return g
}

// proc is a child started into a group; done closes when it is reaped.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// spawn starts argv the way the supervisor will: cloned into the cgroup2
// group, then joined to the v1 groups, and only then told to go by a line
// on stdin, as a launcher would exec only after joining.
func spawn(t *testing.T, g *cgroup.Group, env []string, argv ...string) *proc {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	if fd, ok := g.CgroupFD(); ok {
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-p.done })
	if g.NeedsJoin() {
		if err := g.AddProc(cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	return p
}

// waitFor polls cond until it holds; the deadline only turns a hang into
// a failure, it is never what the test measures.
func waitFor(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for pause := time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		ok, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(pause)
	}
}

func waitEmpty(t *testing.T, g *cgroup.Group) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := g.WaitEmpty(ctx); err != nil {
		t.Fatal(err)
	}
}

// sessionOf reads field 6 of /proc/<pid>/stat, after the parenthesised
// command name, which may itself hold spaces.
func sessionOf(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return strconv.Atoi(f[3])
}
