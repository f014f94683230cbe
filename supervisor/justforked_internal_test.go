package supervisor

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// A plugin's first process can connect before its fork has returned and
// its pid is recorded (a loaded machine): registration must still know it
// for a child the supervisor started, and know nothing else for one.
func TestJustForkedCoversAChildNotYetRecorded(t *testing.T) {
	c := newChildren()
	leader := exec.Command("/bin/sleep", "60")
	leader.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	member := exec.Command("/bin/sleep", "60") // in this process's group, as a plugin's orphan stays in its plugin's
	t.Cleanup(func() {
		for _, cmd := range []*exec.Cmd{leader, member} {
			if cmd.Process != nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
		}
	})
	var seen, memberSeen, selfSeen bool
	c.start(func() int {
		if err := leader.Start(); err != nil {
			t.Fatal(err)
		}
		if err := member.Start(); err != nil {
			t.Fatal(err)
		}
		// os/exec has returned; the pid is not recorded yet.
		pid := leader.Process.Pid
		seen = c.isStarted(pid) || c.justForked(pid)
		memberSeen = c.justForked(member.Process.Pid)
		selfSeen = c.justForked(os.Getpid())
		return pid
	})
	if !seen {
		t.Error("a child leading its own group, its fork in flight, is not known")
	}
	if memberSeen {
		t.Error("a child in another's process group passed for one just forked")
	}
	if selfSeen {
		t.Error("a process that is not a child passed for one just forked")
	}
	if c.justForked(leader.Process.Pid) {
		t.Error("with no fork in flight, a child passed for one just forked: only the record may say it")
	}
	if !c.isStarted(leader.Process.Pid) {
		t.Error("the child's pid was not recorded")
	}
}
