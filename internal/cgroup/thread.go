package cgroup

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
)

// ThreadMove carries one forking thread into a group's v1 directories and
// back. v1 has no clone-into flag, but it places threads one by one, and a
// process forked by a thread is born in that thread's v1 cgroups: so the
// supervisor's forking thread joins the group, forks, and returns, and the
// plugin runs no instruction outside its v1 groups either, without a
// launcher process of its own.
//
// Both sets of tasks files are opened when the move is made: the thread
// may have given up its own access to the filesystem (a sandbox) by the
// time it returns, and an open file is not checked again.
type ThreadMove struct {
	join, home []*os.File
}

// ThreadMove opens the tasks files that carry a thread into g's v1
// directories and back to plugvisor's own. Without v1 directories there is
// nothing to move, and Join and Leave do nothing.
func (m *Manager) ThreadMove(g *Group) (*ThreadMove, error) {
	mv := &ThreadMove{}
	for i, dir := range g.v1 {
		if err := mv.open(&mv.join, dir); err != nil {
			return nil, errors.Join(err, mv.Close())
		}
		if err := mv.open(&mv.home, m.v1Trees[i].Own); err != nil {
			return nil, errors.Join(err, mv.Close())
		}
	}
	return mv, nil
}

func (mv *ThreadMove) open(dst *[]*os.File, dir string) error {
	path := filepath.Join(dir, "tasks")
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fileErr("open", path, err)
	}
	*dst = append(*dst, f)
	return nil
}

// Join moves thread tid into the group's v1 directories.
func (mv *ThreadMove) Join(tid int) error { return writeAll(mv.join, tid) }

// Leave moves thread tid back into plugvisor's own v1 cgroups; until it
// does, the thread counts against the group's pids_max.
func (mv *ThreadMove) Leave(tid int) error { return writeAll(mv.home, tid) }

// Close releases the files; the thread stays where it is.
func (mv *ThreadMove) Close() error {
	var errs []error
	for _, f := range append(mv.join, mv.home...) {
		errs = append(errs, f.Close())
	}
	mv.join, mv.home = nil, nil
	return errors.Join(errs...)
}

func writeAll(files []*os.File, tid int) error {
	v := strconv.Itoa(tid)
	var errs []error
	for _, f := range files {
		if _, err := f.WriteString(v); err != nil {
			errs = append(errs, fileErr("write "+v+" to", f.Name(), err))
		}
	}
	return errors.Join(errs...)
}
