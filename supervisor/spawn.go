package supervisor

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// spawner forks every plugin from one OS thread that lives as long as the
// supervisor. Pdeathsig fires when the *thread* that forked a child exits,
// not the process: forking from an ordinary goroutine would kill plugins
// whenever the Go runtime retired that thread.
type spawner struct {
	reqs chan spawnReq
	done chan struct{}
}

type spawnReq struct {
	cmd   *exec.Cmd
	reply chan error
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnReq), done: make(chan struct{})}
	started := make(chan struct{})
	go s.loop(started)
	<-started
	return s
}

func (s *spawner) loop(started chan<- struct{}) {
	// Never unlocked: the thread must outlive every child it forks.
	runtime.LockOSThread()
	close(started)
	for {
		select {
		case r := <-s.reqs:
			r.reply <- r.cmd.Start()
		case <-s.done:
			return
		}
	}
}

// start runs cmd.Start on the spawner thread.
func (s *spawner) start(cmd *exec.Cmd) error {
	reply := make(chan error, 1)
	select {
	case s.reqs <- spawnReq{cmd: cmd, reply: reply}:
		return <-reply
	case <-s.done:
		return ErrClosed
	}
}

// stop ends the spawner thread. Only call it once every child is reaped:
// the thread's exit delivers Pdeathsig to children still alive.
func (s *spawner) stop() { close(s.done) }

// processAttrs puts the child in its own process group (so the whole group
// can be signalled) and asks the kernel to kill it if the supervisor dies.
func processAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
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
