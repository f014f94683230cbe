package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// JoinThread moves thread tid, alone, into the group's v1 directories. v1
// has no clone-into flag, but it places threads one by one, and a process
// forked by a thread is born in that thread's v1 cgroups: so the thread
// that forks a plugin's processes joins the plugin's group first, and the
// plugin runs no instruction outside it, without a launcher process of its
// own. Without v1 directories it does nothing.
//
// Every v1 move waits for an RCU grace period (the kernel's
// cgroup_threadgroup_rwsem; milliseconds, during which forks anywhere on
// the machine wait too), so the forking thread joins once and stays for
// the group's life rather than going back and forth at each start. While
// it is there it counts against pids_max, and Procs leaves the calling
// process out.
func (g *Group) JoinThread(tid int) error {
	for _, dir := range g.v1 {
		if err := writeFile(dir, "tasks", strconv.Itoa(tid)); err != nil {
			return err
		}
	}
	return nil
}

// NextRun is the group for the next process of its instance: the same v1
// directories (and the thread that joined them), a fresh cgroup2 one. A
// cgroup2 group that was killed through cgroup.kill kills every process
// later cloned into it: the kernel compares the group's kill count with
// the forking parent's (seen on 6.18), so a killed directory is never used
// again. The old directory must be empty (WaitEmpty); it is removed, and g
// must not be used afterwards. A new value rather than a changed one: a
// reader of the last run's figures may still hold g. Set the limits again
// on the result: on unified cgroup2 they live in its directory. Without
// cgroup2 it returns g.
func (g *Group) NextRun() (*Group, error) {
	if g.v2 == "" {
		return g, nil
	}
	n := &Group{name: g.name, runs: g.runs + 1, v2Kill: g.v2Kill, v1: g.v1, places: map[string]string{}, noKillFile: g.noKillFile}
	dir := filepath.Join(filepath.Dir(g.v2), g.name+"-run"+strconv.Itoa(n.runs))
	if err := mkdir(dir); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, errors.Join(fileErr("open", dir, err), rmdir(dir))
	}
	for c, d := range g.places {
		if d == g.v2 {
			d = dir
		}
		n.places[c] = d
	}
	n.v2, n.v2File = dir, f
	g.v2File.Close()
	g.usageFiles().close()
	if err := rmdir(g.v2); err != nil {
		return n, &StaleRunError{Dir: g.v2, Err: err}
	}
	return n, nil
}

// StaleRunError is NextRun's when the last run's cgroup2 directory could
// not be removed: a process of it outlived the kill (in uninterruptible
// sleep, say). The new group is good; the old directory is left for later.
type StaleRunError struct {
	Dir string
	Err error
}

func (e *StaleRunError) Error() string {
	return fmt.Sprintf("cgroup: the last run's %s is not removed (a process of it still there?): %v", e.Dir, e.Err)
}

func (e *StaleRunError) Unwrap() error { return e.Err }
