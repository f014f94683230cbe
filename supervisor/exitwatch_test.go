package supervisor

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
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
