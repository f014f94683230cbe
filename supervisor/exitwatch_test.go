package supervisor

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// An exit is seen through the pidfd on the poller, and through the blocked
// waitid where pidfd_open is missing; either way the process is left a
// zombie, its status for os/exec's Wait.
func TestWatchExit(t *testing.T) {
	for _, tc := range []struct {
		force bool
		want  exitWatch
	}{{false, watchPidfd}, {true, watchBlocked}} {
		t.Run(tc.want.String(), func(t *testing.T) {
			cmd := exec.Command("sh", "-c", "read x; exit 7")
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited, how := watchExit(cmd.Process.Pid, tc.force)
			if how != tc.want {
				t.Fatalf("watched by %s, want %s", how, tc.want)
			}
			select {
			case <-exited:
				t.Fatal("exit seen while the process waits for its stdin")
			default:
			}
			stdin.Close() // it exits now
			<-exited
			if st := stateOf(t, cmd.Process.Pid); st != "Z" {
				t.Fatalf("state %q after the exit was seen, want a zombie (Z): the watch must not reap", st)
			}
			err = cmd.Wait()
			if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 7 {
				t.Fatalf("Wait = %v, state %v: os/exec must get the status", err, cmd.ProcessState)
			}
		})
	}
}

// stateOf is field 3 of /proc/<pid>/stat.
func stateOf(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0]
}

// A waitid that cannot look through a pidfd (an old kernel, a seccomp
// filter) is no exit: the watch falls back to the blocked wait. Only an
// error about the process itself counts as its exit.
func TestPidfdVerdict(t *testing.T) {
	for _, tc := range []struct {
		err              error
		exited, fallback bool
	}{
		{unix.EINVAL, false, true},
		{unix.ENOSYS, false, true},
		{unix.EPERM, false, true},
		{unix.ECHILD, true, false},
		{unix.EBADF, true, false},
	} {
		exited, fallback := pidfdVerdict(tc.err)
		if exited != tc.exited || fallback != tc.fallback {
			t.Errorf("%v: exited %v, fallback %v; want %v, %v", tc.err, exited, fallback, tc.exited, tc.fallback)
		}
	}
}

// The pidfd is opened without PIDFD_NONBLOCK (Linux 5.10) and made
// non-blocking after: the poller needs it so.
func TestPidfdNonblocking(t *testing.T) {
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	f, err := openPidfd(cmd.Process.Pid)
	if err != nil {
		t.Logf("path: no pidfd here (%v); the blocked fallback is what TestWatchExit/blocked covers", err)
		if _, how := watchExit(cmd.Process.Pid, false); how != watchBlocked {
			t.Fatalf("pidfd_open failed but the watch is %s", how)
		}
		return
	}
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var flags int
	rc.Control(func(fd uintptr) { flags, err = unix.FcntlInt(fd, unix.F_GETFL, 0) })
	if err != nil {
		t.Fatal(err)
	}
	if flags&unix.O_NONBLOCK == 0 {
		t.Fatalf("pidfd flags %#x: not non-blocking", flags)
	}
	t.Log("path: pidfd")
}
