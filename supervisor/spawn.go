package supervisor

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/plugvisor/plugvisor/registry"
)

// processAttrs puts the child in its own process group (so the whole group
// can be signalled), asks the kernel to kill it if the supervisor dies, and
// gives it the plugin's user with no supplementary groups: a plugin of user
// nobody must not keep root's groups. Its home adds the cgroup2 group to be
// cloned into.
func processAttrs(p *registry.Plugin) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
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
// collect (reap.go) when a plugin is stopped, and the SIGCHLD sweep
// (children.go) for the rest. Left to PID 1 they might stay zombies, since not every
// init reaps what it adopts (container inits often do not).
func becomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// notDumpable keeps processes of the supervisor's uid (a plugin without a
// user of its own) from tracing it or reading its memory: the kernel then
// asks for CAP_SYS_PTRACE. It is the supervisor's own setting: exec resets
// it, so plugins are not affected.
func notDumpable() error { return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0) }
