package supervisor

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plugvisor/plugvisor/internal/cgroup"
	"github.com/plugvisor/plugvisor/internal/sandbox"
	"github.com/plugvisor/plugvisor/registry"
)

// forkSpec is one fork: the command and what the forking thread must take
// on first, so that the child inherits it at birth.
type forkSpec struct {
	cmd  *exec.Cmd
	move *cgroup.ThreadMove // nil: no v1 groups to be born in
	// sandbox restricts the forking thread, and so the child, before fork;
	// nil: none.
	sandbox *sandbox.Spec
	skipped []string // sandbox paths that do not exist, so got no rule
}

// forkThread forks f.cmd from an OS thread of its own and keeps that thread
// until the child has exited, then calls exited. Three things need the
// thread: Pdeathsig fires when the thread that forked a child exits, not the
// process, so it must outlive the child; v1 cgroups are per thread, so the
// thread joins the plugin's groups and a child forked there is born in
// them; and a Landlock domain and no_new_privs are per thread too, so a
// sandboxed plugin's thread restricts itself and nothing else in the
// supervisor. Go cannot run code between fork and exec; this is how the
// child is contained from its first instruction without a launcher
// process. The thread is never the main one and is never unlocked, so a
// thread that took on a sandbox is destroyed with it rather than reused.
func forkThread(f *forkSpec, kids *children, exited func()) error {
	started := make(chan error, 1)
	go sandbox.OnThread(func() {
		var err error
		kids.start(func() int {
			if err = forkHere(f); err != nil {
				return 0
			}
			return f.cmd.Process.Pid
		})
		started <- err
		if err == nil {
			waitExit(f.cmd.Process.Pid)
			exited()
		}
	})
	return <-started
}

// forkHere runs on the locked thread: join, restrict, fork, leave.
func forkHere(f *forkSpec) error {
	tid := unix.Gettid()
	if f.move != nil {
		if err := f.move.Join(tid); err != nil {
			return fmt.Errorf("join the plugin's v1 cgroups: %w", err)
		}
	}
	if f.sandbox != nil {
		skipped, err := sandbox.RestrictThread(*f.sandbox)
		if err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		f.skipped = skipped
	}
	err := f.cmd.Start()
	if f.move != nil {
		// Already-open files: this works even from a sandboxed thread.
		if lerr := f.move.Leave(tid); lerr != nil && err == nil {
			err = fmt.Errorf("leave the plugin's v1 cgroups: %w", lerr)
			_ = f.cmd.Process.Kill()
			_ = f.cmd.Wait()
		}
	}
	return err
}

// waitExit returns once pid has exited, leaving it a zombie: while it is
// unreaped its pid, which is its process group's id, cannot be given to a
// new process, so killing and reaping what is left of the group can never
// reach someone else's.
func waitExit(pid int) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return
		}
	}
}

// processAttrs puts the child in its own process group (so the whole group
// can be signalled), asks the kernel to kill it if the supervisor dies,
// clones it into its cgroup2 group, and gives it the plugin's user with no
// supplementary groups: a plugin of user nobody must not keep root's
// groups.
func processAttrs(p *registry.Plugin, g *cgroup.Group) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if fd, ok := groupFD(g); ok {
		a.UseCgroupFD, a.CgroupFD = true, fd
	}
	if p.UID >= 0 || p.GID >= 0 {
		a.Credential = &syscall.Credential{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid()), Groups: []uint32{}}
		if p.UID >= 0 {
			a.Credential.Uid = uint32(p.UID)
		}
		if p.GID >= 0 {
			a.Credential.Gid = uint32(p.GID)
		}
	}
	return a
}

func groupFD(g *cgroup.Group) (int, bool) {
	if g == nil {
		return -1, false
	}
	return g.CgroupFD()
}

// killGroup signals every process in the group; a group already gone is not
// an error.
func killGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 1 {
		return fmt.Errorf("refusing to signal process group %d", pgid)
	}
	err := syscall.Kill(-pgid, sig)
	if err == syscall.ESRCH {
		return nil
	}
	return err
}

// devNull is what plugins read from: never the operator's terminal.
func devNull() (*os.File, error) { return os.Open(os.DevNull) }

// becomeSubreaper makes orphaned descendants of plugins re-parent to the
// supervisor instead of to PID 1, so that the supervisor reaps them itself:
// reapMembers when a group is killed, scanGroups (through reapAdopted) while
// the plugin runs. Left to PID 1 they might stay zombies, since not every
// init reaps what it adopts (container inits often do not).
func becomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// reapMembers waits, bounded by limit, until the killed group pgid holds
// nothing but its first process, reaping each member that has become the
// supervisor's child. Members are reaped by pid, never with wait4(-pgid),
// which could take the first process's status from os/exec. A member whose
// parent is another dying member becomes ours (the supervisor is a subreaper)
// when that parent dies, so the scan repeats until the group is empty.
func reapMembers(pgid, leader int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	self := os.Getpid()
	buf := make([]byte, 0, 1024)
	for {
		left := false
		eachProcess(func(pid int) {
			st, ok := readStat(pid, buf)
			if !ok || st.pgrp != pgid || pid == leader {
				return
			}
			if !reapAdopted(st, self) {
				left = true
			}
		})
		if !left || time.Now().After(deadline) {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}
