package supervisor

import (
	"errors"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// children knows which of the supervisor's children os/exec started (the
// plugins' first processes and the watchdog), so that every other child,
// an orphan of a plugin that the subreaper adopted, can be reaped as soon
// as it dies. A plugin's child that called setsid and was then killed, or
// simply exited, would otherwise stay a zombie holding a pid (and a place
// under its group's pids_max) for as long as the supervisor runs.
//
// A child must be known before anyone can see it as a zombie: starting
// holds the read lock from before fork until the pid is recorded, and a
// sweep holds the write lock, so a sweep never takes the exit status that
// os/exec's Wait is owed.
type children struct {
	starting sync.RWMutex
	forking  atomic.Int32 // forks whose child's pid is not recorded yet
	mu       sync.Mutex
	started  map[int]bool
}

func newChildren() *children { return &children{started: map[int]bool{}} }

// start runs fork, which returns the new child's pid (0 when it failed),
// with the sweep held off until the pid is recorded.
func (c *children) start(fork func() int) {
	c.starting.RLock()
	defer c.starting.RUnlock()
	c.forking.Add(1)
	defer c.forking.Add(-1) // after the pid is recorded
	if pid := fork(); pid > 0 {
		c.mu.Lock()
		c.started[pid] = true
		c.mu.Unlock()
	}
}

// reap runs wait, which reaps pid (os/exec's Wait), and forgets pid, with
// forks held off: once pid is free a new child may get it, and its mark
// must not be the one forgotten. Call it once pid has exited: wait must
// not block.
func (c *children) reap(pid int, wait func()) {
	c.exclusive(func() {
		wait()
		c.mu.Lock()
		delete(c.started, pid)
		c.mu.Unlock()
	})
}

// exclusive runs fn with forks and sweeps held off, so that no child
// os/exec starts can be reaped by fn before its pid is recorded.
func (c *children) exclusive(fn func()) {
	c.starting.Lock()
	defer c.starting.Unlock()
	fn()
}

// sweep reaps every zombie child that os/exec did not start and that
// adopted says was a plugin's (its cgroup or its process group): a program
// embedding the supervisor may have children of its own, and their exit
// statuses are not the supervisor's to take. The supervisor's children are
// found in one pass over /proc: /proc/self/task/*/children is reliable
// only for stopped children, and waitid(P_ALL, WNOWAIT) cannot see past
// the first zombie. It is the backstop: collect reaps what a stopped
// plugin leaves without it.
func (c *children) sweep(adopted func(procStat) bool) {
	if !anyZombie() {
		return
	}
	c.reapAmong(eachProcess, adopted)
}

// anyZombie says whether the supervisor has a child to reap. Most SIGCHLDs
// are of plugins' first processes that collect reaps by itself, so the
// sweep's pass over /proc is mostly not needed; a zombie that appears just
// after this look brings a SIGCHLD, and another sweep, of its own.
func anyZombie() bool {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return err == nil && info.Signo != 0
	}
}

// reapAmong is the sweep over the pids of each. A plugin's zombie still
// held by a parent of its own, a dying one, is left: it comes to the
// supervisor with a SIGCHLD of its own.
func (c *children) reapAmong(each func(func(int) bool), adopted func(procStat) bool) {
	c.starting.Lock()
	defer c.starting.Unlock()
	self := os.Getpid()
	buf := make([]byte, 0, 1024)
	for pid := range each {
		st, ok := readStat(pid, buf)
		if !ok || st.state != 'Z' || st.ppid != self || c.isStarted(pid) || !adopted(st) {
			continue
		}
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
	}
}

// member is a process listed in a plugin's cgroup before its kill, with
// its start time (field 22 of /proc/<pid>/stat), which tells it from a
// later process given the same pid.
type member struct {
	pid   int
	start uint64
}

// listMembers are pids, a cgroup's list, with their start times; a pid
// gone already is left out.
func listMembers(pids []int) []member {
	out := make([]member, 0, len(pids))
	buf := make([]byte, 0, 1024)
	for _, pid := range pids {
		if st, ok := readStat(pid, buf); ok {
			out = append(out, member{pid: pid, start: st.start})
		}
	}
	return out
}

// reapMembers reaps those of members that are zombies of the supervisor
// and were not started by os/exec, and returns those still to wait for:
// alive or dying (the cgroup said empty a moment before they finish
// exiting), or zombies held by a dying parent of their own. Being listed is
// what makes them a plugin's: the cgroup a zombie reports cannot say it
// (on cgroup v1 a zombie reads "/" in every hierarchy). A pid that is gone,
// or now another process's (another start time), is dropped.
func (c *children) reapMembers(members []member) (waiting []member) {
	c.starting.Lock()
	defer c.starting.Unlock()
	self := os.Getpid()
	buf := make([]byte, 0, 1024)
	for _, m := range members {
		st, ok := readStat(m.pid, buf)
		switch {
		case !ok || st.start != m.start || c.isStarted(m.pid):
			continue
		case st.state != 'Z' || st.ppid != self:
			waiting = append(waiting, m)
			continue
		}
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(m.pid, &ws, syscall.WNOHANG, nil)
	}
	return waiting
}

// justForked says whether pid may be a child os/exec has started but not
// yet handed back: a fork is in flight, and pid is this process's child
// and leads a process group of its own, as every plugin's first process
// does. On a loaded machine a plugin can connect before its fork returns
// here and its pid is recorded. An orphan a plugin left behind is a child
// too (the subreaper adopts it), but leads a group only if it left its
// plugin's, and passes for a new child only while a fork is in flight.
func (c *children) justForked(pid int) bool {
	if c.forking.Load() == 0 {
		return false
	}
	st, ok := readStat(pid, make([]byte, 0, 512))
	return ok && st.ppid == os.Getpid() && st.pgrp == st.pid
}

func (c *children) isStarted(pid int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.started[pid]
}

// reapOnSIGCHLD sweeps after SIGCHLD until stop is closed, at most every
// sweepPause: signals coalesce and a sweep reaps every zombie there is, so
// none is missed, and a plugin forking in a loop costs the supervisor a
// bounded number of passes over /proc.
func (c *children) reapOnSIGCHLD(stop <-chan struct{}, adopted func(procStat) bool) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGCHLD)
	defer signal.Stop(sig)
	for {
		select {
		case <-sig:
			c.sweep(adopted)
		case <-stop:
			return
		}
		select {
		case <-time.After(sweepPause):
		case <-stop:
			return
		}
	}
}

const sweepPause = 100 * time.Millisecond
