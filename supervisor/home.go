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

// home is where an instance's processes are born: its cgroup and the OS
// thread that forks them (see forker). The thread carries what the child
// must have from its first instruction, because Go cannot run code between
// fork and exec:
//   - Pdeathsig fires when the thread that forked a child exits, not the
//     process, so the thread must outlive every child it forks;
//   - v1 cgroups are per thread and a child is born in its forking thread's,
//     so a thread joins the instance's v1 groups once (each v1 move costs
//     the machine an RCU grace period) and stays;
//   - a Landlock domain and no_new_privs are per thread too, so a sandboxed
//     instance's thread restricts itself and nothing else in the supervisor.
//
// Only the last two need a thread per instance. An instance that is not
// sandboxed and whose group has no v1 directory (cgroup2 clones it in; on a
// hybrid machine an instance without limits gets a cgroup2 group alone) is
// forked from the containment's shared forker, which outlives every
// instance. So the supervisor's forking threads number 1 + the instances
// that are sandboxed or have v1 limits (on a v1-only machine, every
// instance: its v1 groups are its only containment), whatever the number
// of plugins. Both the home and its thread last as long as the instance (a
// new sandbox, or limits where there were none, make a new home).
type home struct {
	group   *cgroup.Group // the current run's; nil: no cgroups here
	used    bool          // a process was started in group
	stale   []string      // cgroup2 directories of earlier runs not removed yet
	sandbox *sandbox.Spec // nil: none
	limited bool          // group was made to take limits (its v1 groups too)
	own     *forker       // the instance's own thread; nil: shared is used
	shared  *forker
}

// newHome makes the instance's cgroup and, where the instance needs one,
// its own thread, which joins the group and takes on the sandbox before it
// forks anything.
func newHome(c *containment, instance string, spec *sandbox.Spec, limited bool) (*home, []string, error) {
	g, err := c.newGroup(instance, limited)
	if err != nil {
		return nil, nil, err
	}
	h := &home{group: g, sandbox: spec, limited: limited, shared: c.spawner}
	if spec == nil && (g == nil || !g.NeedsJoin()) {
		return h, nil, nil
	}
	var skipped []string
	h.own, err = newForker(func() (err error) {
		skipped, err = h.settle()
		return err
	})
	if err != nil {
		h.removeGroup()
		return nil, nil, err
	}
	return h, skipped, nil
}

// settle runs on the home's own thread, before any fork.
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
func (h *home) fork(cmd *exec.Cmd, kids *children) error {
	h.used = true
	if fd, ok := groupFD(h.group); ok {
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
	}
	if h.own != nil {
		return h.own.fork(cmd, kids)
	}
	return h.shared.fork(cmd, kids)
}

// fits says whether the home can start a process with spec as its sandbox
// and with limits or none.
func (h *home) fits(spec *sandbox.Spec, limited bool) bool {
	if limited && !h.limited {
		return false
	}
	if h.sandbox == nil || spec == nil {
		return h.sandbox == nil && spec == nil
	}
	a, b := h.sandbox, spec
	return slices.Equal(a.ReadOnly, b.ReadOnly) && slices.Equal(a.ReadWrite, b.ReadWrite) &&
		slices.Equal(a.TCPConnect, b.TCPConnect) && slices.Equal(a.TCPBind, b.TCPBind)
}

// close ends its own thread, if any, and removes the cgroup. Call it with no process
// of the home running.
func (h *home) close() error {
	if h.own != nil {
		h.own.close()
	}
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

func groupFD(g *cgroup.Group) (int, bool) {
	if g == nil {
		return -1, false
	}
	return g.CgroupFD()
}
