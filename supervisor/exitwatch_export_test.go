package supervisor

import (
	"os"

	"golang.org/x/sys/unix"
)

// PidfdWaits says whether this kernel lets exits be watched through
// pidfds: pidfd_open (Linux 5.3) and waitid on a pidfd (5.4), judged as
// the watch judges it. The test process is no child of itself, so a
// working waitid says ECHILD.
func PidfdWaits() bool {
	fd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var info unix.Siginfo
	err = unix.Waitid(unix.P_PIDFD, fd, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	_, fallback := pidfdVerdict(err)
	return err == nil || !fallback
}
