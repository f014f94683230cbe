package cgroup

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// maxKillRounds bounds killEach: each round freezes the group, so a round
// that finds a pid not yet signalled means one forked before the freeze
// took; dozens in a row mean the freeze does not hold.
const maxKillRounds = 64

// killEach is the kill without cgroup.kill: freeze so nothing forks while
// the list is read, SIGKILL every pid, thaw so the signals are acted on,
// and again until a round finds only pids already signalled.
func (g *Group) killEach() error {
	signalled := map[int]bool{}
	for range maxKillRounds {
		fresh, err := g.killRound(signalled)
		if err != nil || !fresh {
			return err
		}
	}
	return fmt.Errorf("cgroup: %s: processes still appearing after %d kill rounds", g.name, maxKillRounds)
}

func (g *Group) killRound(signalled map[int]bool) (fresh bool, err error) {
	thaw, ferr := g.freeze()
	if errors.Is(ferr, errPollTimeout) {
		ferr = nil
	}
	defer func() { err = errors.Join(ferr, err, thaw()) }()
	pids, err := g.Procs()
	if err != nil {
		return false, err
	}
	var targets []int
	for _, pid := range pids {
		if !signalled[pid] {
			signalled[pid] = true
			targets = append(targets, pid)
		}
	}
	return len(targets) > 0, g.signal(targets)
}

// signal kills pids through pidfds, checking after opening them that each
// pid is still in the group: a pid read from cgroup.procs may have exited
// and been reused by a process plugvisor must not touch.
func (g *Group) signal(pids []int) error {
	fds := map[int]int{}
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		if errors.Is(err, unix.ENOSYS) { // before 5.3: the reuse window stays open
			return killPids(pids)
		}
		if err == nil {
			fds[pid] = fd
		}
	}
	still, err := g.Procs()
	if err != nil {
		return err
	}
	var errs []error
	for pid, fd := range fds {
		if slices.Contains(still, pid) {
			errs = append(errs, sendKill(fd, pid))
		}
	}
	return errors.Join(errs...)
}

func sendKill(fd, pid int) error {
	err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	if err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("cgroup: kill %d: %w", pid, err)
	}
	return nil
}

func killPids(pids []int) error {
	var errs []error
	for _, pid := range pids {
		if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("cgroup: kill %d: %w", pid, err))
		}
	}
	return errors.Join(errs...)
}

// freeze stops the group with cgroup2's freezer and returns how to thaw it;
// without it (v1: see v1Controllers) the rounds still converge, only more
// slowly.
func (g *Group) freeze() (thaw func() error, err error) {
	noop := func() error { return nil }
	if g.v2 != "" && exists(g.v2, "cgroup.freeze") {
		return func() error { return writeFile(g.v2, "cgroup.freeze", "0") }, freezeV2(g.v2)
	}
	return noop, nil
}

// freezeWait bounds how long a freeze may take: a task in uninterruptible
// sleep keeps a group from freezing, and killing then is still better than
// not killing.
const freezeWait = time.Second

func freezeV2(dir string) error {
	if err := writeFile(dir, "cgroup.freeze", "1"); err != nil {
		return err
	}
	return pollUntil(freezeWait, func() (bool, error) {
		n, err := readKey(dir, "cgroup.events", "frozen")
		return n == 1, err
	})
}
