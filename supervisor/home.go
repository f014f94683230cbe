package supervisor

import (
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plugvisor/plugvisor/internal/cgroup"
	"github.com/plugvisor/plugvisor/internal/sandbox"
)

// home is where an instance's processes are born: its cgroup and an OS
// thread of its own that forks them. Both last as long as the instance (a
// new sandbox makes a new home), because the thread carries what the child
// must have from its first instruction, and Go cannot run code between
// fork and exec:
//   - Pdeathsig fires when the thread that forked a child exits, not the
//     process, so the thread must outlive every child it forks;
//   - v1 cgroups are per thread and a child is born in its forking thread's,
//     so the thread joins the instance's v1 groups once (each v1 move costs
//     the machine an RCU grace period) and stays;
//   - a Landlock domain and no_new_privs are per thread too, so a sandboxed
//     instance's thread restricts itself and nothing else in the supervisor.
//
// The thread is never the main one and is never unlocked: when the home
// closes, the goroutine returns locked and the runtime destroys the thread
// with what it took on.
type home struct {
	group   *cgroup.Group // the current run's; nil: no cgroups here
	used    bool          // a process was started in group
	stale   []string      // cgroup2 directories of earlier runs not removed yet
	sandbox *sandbox.Spec // nil: none
	jobs    chan forkJob
	ended   chan struct{} // the thread is gone
}

// forkJob is one process to start from the home's thread.
type forkJob struct {
	cmd     *exec.Cmd
	started chan error
	exited  func() // called once the process has exited (it is not reaped yet)
}

// newHome makes the instance's cgroup and its thread, which joins the
// group and takes on the sandbox before it forks anything.
func newHome(c *containment, kids *children, instance string, spec *sandbox.Spec) (*home, []string, error) {
	g, err := c.newGroup(instance)
	if err != nil {
		return nil, nil, err
	}
	h := &home{group: g, sandbox: spec, jobs: make(chan forkJob), ended: make(chan struct{})}
	ready := make(chan error, 1)
	var skipped []string
	go sandbox.OnThread(func() {
		defer close(h.ended)
		skipped, err = h.settle()
		ready <- err
		if err == nil {
			h.serve(kids)
		}
	})
	if err := <-ready; err != nil {
		<-h.ended
		h.removeGroup()
		return nil, nil, err
	}
	return h, skipped, nil
}

// settle runs on the home's thread, before any fork.
func (h *home) settle() ([]string, error) {
	if h.group != nil {
		if err := h.group.JoinThread(unix.Gettid()); err != nil {
			return nil, fmt.Errorf("join the instance's v1 cgroups: %w", err)
		}
	}
	if h.sandbox == nil {
		return nil, nil
	}
	skipped, err := sandbox.RestrictThread(*h.sandbox)
	if err != nil {
		return nil, err // it says "sandbox: …"
	}
	return skipped, nil
}

// serve forks one process at a time and waits for its exit, until the home
// closes.
func (h *home) serve(kids *children) {
	for j := range h.jobs {
		var err error
		kids.start(func() int {
			if err = j.cmd.Start(); err != nil {
				return 0
			}
			return j.cmd.Process.Pid
		})
		j.started <- err
		if err == nil {
			waitExit(j.cmd.Process.Pid)
			j.exited()
		}
	}
}

// nextRun readies the group for a new process: the same v1 groups, which
// the thread joined, and a fresh cgroup2 directory in place of one the
// last process's kill has spoiled (see cgroup.Group.NextRun). A last run's
// directory that cannot be removed yet is kept to be removed at close, and
// said in stale; the new group is good all the same.
func (h *home) nextRun() (stale, err error) {
	if h.group == nil || !h.used {
		return nil, nil
	}
	g, err := h.group.NextRun()
	var sre *cgroup.StaleRunError
	if errors.As(err, &sre) {
		h.stale = append(h.stale, sre.Dir)
		stale, err = err, nil
	}
	if err != nil {
		return nil, err
	}
	h.group, h.used = g, false
	return stale, nil
}

// fork starts cmd from the home's thread and returns once it started.
func (h *home) fork(cmd *exec.Cmd, exited func()) error {
	h.used = true
	if fd, ok := groupFD(h.group); ok {
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
	}
	j := forkJob{cmd: cmd, started: make(chan error, 1), exited: exited}
	h.jobs <- j
	return <-j.started
}

// fits says whether the home can start a process with spec as its sandbox.
func (h *home) fits(spec *sandbox.Spec) bool {
	if h.sandbox == nil || spec == nil {
		return h.sandbox == nil && spec == nil
	}
	a, b := h.sandbox, spec
	return slices.Equal(a.ReadOnly, b.ReadOnly) && slices.Equal(a.ReadWrite, b.ReadWrite) &&
		slices.Equal(a.TCPConnect, b.TCPConnect) && slices.Equal(a.TCPBind, b.TCPBind)
}

// close ends the thread and removes the cgroup. Call it with no process
// of the home running.
func (h *home) close() error {
	close(h.jobs)
	<-h.ended
	return h.removeGroup()
}

func (h *home) removeGroup() error {
	if h.group == nil {
		return nil
	}
	errs := []error{removeGroup(h.group, 10*time.Second)}
	for _, dir := range h.stale {
		errs = append(errs, removeGroup(cgroup.Reopen([]string{dir}), 10*time.Second))
	}
	return errors.Join(errs...)
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

func groupFD(g *cgroup.Group) (int, bool) {
	if g == nil {
		return -1, false
	}
	return g.CgroupFD()
}
