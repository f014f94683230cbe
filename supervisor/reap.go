package supervisor

import (
	"errors"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// reapGroup reaps the zombie children of the supervisor in process group
// pgid, a plugin's, whose first process was just reaped; call it with
// forks held off (inside children.reap). Only the plugin's processes can
// match: a process group id is a pid, held by the kernel while any process
// (a zombie included) has it as its pid or group, so while members are left
// the id is theirs; once they are all gone nothing matches, and Linux hands
// pid numbers out cyclically, so the id comes back only after the counter
// has gone round pid_max, not within this pass. The one process of the
// group whose status is not ours to take is a first process os/exec
// started (another plugin's, which a plugin in the supervisor's session
// could move here with setpgid): each zombie is looked at with WNOWAIT and
// reaped by its pid, and the pass stops at such a one, leaving the rest to
// the sweep.
func reapGroup(pgid int, kids *children) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PGID, pgid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		pid := siginfoPid(&info)
		if err != nil || info.Signo == 0 || pid <= 0 || kids.isStarted(pid) {
			return
		}
		var ws syscall.WaitStatus
		if got, _ := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); got != pid {
			return
		}
	}
}

// reapListed reaps those of members, the plugin's cgroup as listed before
// its kill, that became the supervisor's zombies. The group is empty by
// now, but a member is not yet a zombie the moment cgroup2 says so (it is
// still finishing its exit, in state R or D), and a zombie whose parent
// was a member too is passed to the supervisor only once that parent has
// finished exiting; so members still there are looked at again, until
// deadline.
func (l *launcher) reapListed(members []member, deadline time.Time) {
	for pause := 100 * time.Microsecond; len(members) > 0; pause = min(2*pause, 5*time.Millisecond) {
		members = l.kids.reapMembers(members)
		if len(members) == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(pause)
	}
}

// reapUntilEmpty is collect without a cgroup: the killed process group is
// reaped until the kernel says no process has its id any more (kill(-pgid,
// 0) counts zombies too), bounded by deadline. Its members are found by
// the group id alone: no pass over the machine's processes.
func (l *launcher) reapUntilEmpty(pgid int, deadline time.Time) {
	for pause := 100 * time.Microsecond; ; pause = min(2*pause, 5*time.Millisecond) {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) || time.Now().After(deadline) {
			return
		}
		time.Sleep(pause)
		_ = killGroup(pgid, syscall.SIGKILL) // one that forked meanwhile
		l.kids.exclusive(func() { reapGroup(pgid, l.kids) })
	}
}

// siginfoPid is si_pid of a waitid result, which x/sys keeps unexported:
// the first field of the union after si_signo, si_errno and si_code, which
// 64-bit platforms align to 8 bytes.
func siginfoPid(info *unix.Siginfo) int {
	off := uintptr(12)
	if unsafe.Sizeof(uintptr(0)) == 8 {
		off = 16
	}
	return int(*(*int32)(unsafe.Add(unsafe.Pointer(info), off)))
}
