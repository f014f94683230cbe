package cgroup

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Group is the cgroup of one plugin instance: a directory in cgroup2 and
// one in each v1 hierarchy, as the layout has them. Its methods may run
// from several goroutines (a waiter beside a killer), except Remove, which
// closes the clone-into descriptor and must come last.
type Group struct {
	name   string
	runs   int      // NextRun calls, for the name of the next cgroup2 directory
	v2     string   // "" without cgroup2
	v2File *os.File // open directory, for clone-into
	v2Kill bool
	v1     []string
	// places maps a controller (memory, pids, cpu, cpuacct) to
	// the directory holding its files, cgroup2 or v1.
	places map[string]string
	// noKillFile makes Kill take the freeze-and-signal path, so tests can
	// run it on a kernel that has cgroup.kill.
	noKillFile bool
	// files are what Usage keeps open; closed with the group's directory.
	filesOnce sync.Once
	files     *openFiles
}

func (g *Group) addV2(dir string, t *V2Tree) error {
	if err := mkdir(dir); err != nil {
		return err
	}
	g.v2, g.v2Kill = dir, t.Kill
	for _, c := range t.Use {
		g.places[c] = dir
	}
	f, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return fileErr("open", dir, err)
	}
	g.v2File = f
	return nil
}

func (g *Group) addV1(dir string, t V1Tree) error {
	if err := mkdir(dir); err != nil {
		return err
	}
	g.v1 = append(g.v1, dir)
	for _, c := range t.Controllers {
		g.places[c] = dir
	}
	return nil
}

// Name is the instance name the group was made with.
func (g *Group) Name() string { return g.name }

// Dirs are the group's directories, cgroup2 first.
func (g *Group) Dirs() []string {
	if g.v2 == "" {
		return slices.Clone(g.v1)
	}
	return append([]string{g.v2}, g.v1...)
}

// CgroupFD is the cgroup2 directory for SysProcAttr{UseCgroupFD: true,
// CgroupFD: fd}: the child is cloned into the group and runs nothing
// outside it. ok is false without cgroup2. The descriptor belongs to the
// group and stays open until Remove.
func (g *Group) CgroupFD() (fd int, ok bool) {
	if g.v2File == nil {
		return -1, false
	}
	return int(g.v2File.Fd()), true
}

// NeedsJoin says the group has v1 directories, which no clone flag
// reaches: the child must be born there (JoinThread) or AddProc itself
// before it execs the plugin.
func (g *Group) NeedsJoin() bool { return len(g.v1) > 0 }

// AddProc moves pid (all its threads) into every directory of the group.
// Only children it forks afterwards inherit the group, so a launcher calls
// it with its own pid before exec; the supervisor calling it after Start
// races whatever the child forks first.
func (g *Group) AddProc(pid int) error {
	for _, dir := range g.Dirs() {
		if err := writeFile(dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// Procs lists the processes in the group, from every directory: a pid in
// a v1 group only is still ours to kill. The calling process is left out:
// the thread that forks the group's processes waits in its v1 groups
// (JoinThread), and v1 lists a process there by any thread of it.
func (g *Group) Procs() ([]int, error) {
	var all []int
	self := os.Getpid()
	for _, dir := range g.Dirs() {
		pids, err := readPids(dir)
		if err != nil {
			return nil, err
		}
		all = append(all, slices.DeleteFunc(pids, func(pid int) bool { return pid == self })...)
	}
	slices.Sort(all)
	return slices.Compact(all), nil
}

// Populated says whether any process is left in the group.
func (g *Group) Populated() (bool, error) {
	if g.v2 != "" {
		return populatedV2(g.v2)
	}
	pids, err := g.Procs()
	return len(pids) > 0, err
}

// Kill SIGKILLs every process in the group, including those that left
// plugvisor's process group or session. It returns once they are
// signalled; WaitEmpty says when they are gone.
func (g *Group) Kill() error {
	if g.v2Kill && !g.noKillFile {
		return writeFile(g.v2, "cgroup.kill", "1")
	}
	return g.killEach()
}

// WaitEmpty returns when the group has no process, or with ctx's error.
// With cgroup2 it trusts its populated flag alone: every process of the
// group is in its cgroup2 directory, cloned there or put there by AddProc.
func (g *Group) WaitEmpty(ctx context.Context) error {
	if g.v2 != "" {
		return waitEvents(ctx, g.v2)
	}
	return pollEmpty(ctx, g.Populated)
}

// Remove kills what is left, waits for it to be gone and removes the
// group's directories. It may be called again after an error. The files
// Usage keeps open are closed whatever the outcome: a group that cannot be
// removed yet must not hold them (later reads open their own).
func (g *Group) Remove(ctx context.Context) error {
	g.usageFiles().close()
	if err := g.Kill(); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := g.WaitEmpty(ctx); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return g.rmdirsUntil(ctx)
}

// rmdirsUntil retries EBUSY: a v1 group can lag the cgroup2 populated
// flag by the moment an exiting task takes to detach.
func (g *Group) rmdirsUntil(ctx context.Context) error {
	for pause := time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		err := g.rmdirs()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(pause):
		}
	}
}

func (g *Group) rmdirs() error {
	g.usageFiles().close()
	if g.v2File != nil {
		g.v2File.Close()
		g.v2File = nil
	}
	var errs []error
	for _, dir := range g.Dirs() {
		errs = append(errs, rmdir(dir))
	}
	return errors.Join(errs...)
}

// Reopen is the group whose directories are dirs, as Dirs listed them, for
// a process that has the paths and nothing else: the watchdog, killing and
// removing the groups of a supervisor that died. A directory with
// cgroup.events is taken for the cgroup2 one. Without the layout it knows
// no freezer and no limits; Kill, WaitEmpty and Remove work.
func Reopen(dirs []string) *Group {
	g := &Group{name: "reopened", places: map[string]string{}}
	for _, dir := range dirs {
		if g.v2 == "" && exists(dir, "cgroup.events") {
			g.v2, g.v2Kill = dir, exists(dir, "cgroup.kill")
			continue
		}
		g.v1 = append(g.v1, dir)
	}
	return g
}
