package supervisor

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// exitWatch is how an exit is waited for: through a pidfd that the
// runtime's poller watches (no thread is held for the child's life), or,
// on a kernel without pidfd_open (before 5.3), a thread blocked in waitid.
type exitWatch int

const (
	watchPidfd exitWatch = iota
	watchBlocked
)

func (w exitWatch) String() string {
	if w == watchPidfd {
		return "pidfd"
	}
	return "blocked waitid"
}

// watchExit closes the returned channel once pid, a child of the
// supervisor, has exited, leaving it a zombie for collect to reap: while it
// is unreaped its pid, which is its process group's id, cannot be given to
// a new process, so killing and reaping what is left of the group never
// reaches someone else's. The pid cannot be reused before that reap either,
// so opening a pidfd after the fork is safe. forceBlocked takes the
// fallback, for its tests.
func watchExit(pid int, forceBlocked bool) (<-chan struct{}, exitWatch) {
	exited := make(chan struct{})
	if !forceBlocked {
		f, err := openPidfd(pid)
		if err == nil {
			go func() {
				defer close(exited)
				defer f.Close()
				waitPidfd(f, pid)
			}()
			return exited, watchPidfd
		}
	}
	go func() {
		defer close(exited)
		waitExit(pid)
	}()
	return exited, watchBlocked
}

// openPidfd opens a pidfd and makes it non-blocking, then wraps it as an
// *os.File, which registers it with the poller: a pidfd reads as ready once
// its process has exited. PIDFD_NONBLOCK would save the fcntl but needs
// Linux 5.10, while pidfd_open itself is 5.3: a kernel in between must not
// be sent to the thread-per-plugin fallback for a flag.
func openPidfd(pid int) (*os.File, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, err
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "pidfd"), nil
}

// waitPidfd parks the goroutine in the poller until the process has
// exited. The readiness is confirmed with waitid(WNOWAIT), which leaves
// the zombie, and WNOHANG, which never blocks the thread. Should the poller
// refuse the descriptor, or waitid not take a pidfd (P_PIDFD is 5.4, one
// release after pidfd_open), it falls back to the blocked wait.
func waitPidfd(f *os.File, pid int) {
	fallback := false
	rc, err := f.SyscallConn()
	if err == nil {
		err = rc.Read(func(fd uintptr) bool {
			var exited bool
			exited, fallback = exitedNow(int(fd))
			return exited || fallback
		})
	}
	if err != nil || fallback {
		waitExit(pid)
	}
}

// exitedNow says whether the pidfd's process has exited, or, in fallback,
// that waitid cannot tell through a pidfd here (see pidfdVerdict).
func exitedNow(fd int) (exited, fallback bool) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PIDFD, fd, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return pidfdVerdict(err)
		}
		// Linux writes si_signo SIGCHLD when it found the exit, 0 when
		// WNOHANG found the process running.
		return info.Signo != 0, false
	}
}

// pidfdVerdict is what a failed waitid on a pidfd means. EINVAL (no
// P_PIDFD: Linux 5.3 has pidfd_open but not that), ENOSYS and EPERM (a
// seccomp filter) say nothing of the process: the watch must fall back to
// the blocked wait, never take them for an exit, which would have collect
// kill a running plugin. Any other error (ECHILD: reaped already) means the
// process can no longer be waited for, which to its watcher is the same as
// exited.
func pidfdVerdict(err error) (exited, fallback bool) {
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		return false, true
	}
	return true, false
}

// waitExit returns once pid has exited, leaving it a zombie, holding a
// thread until then: the fallback without pidfds.
func waitExit(pid int) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return
		}
	}
}
