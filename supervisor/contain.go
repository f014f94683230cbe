package supervisor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/plugvisor/plugvisor/internal/cgroup"
	"github.com/plugvisor/plugvisor/internal/sandbox"
	"github.com/plugvisor/plugvisor/registry"
)

// containment is what holds the supervisor's plugins beyond their process
// group: a cgroup per instance wherever the machine has them, for limits, a
// kill that setsid cannot escape, "all gone" from the kernel, and figures
// that include a plugin's children. Without cgroups it is nil's behaviour:
// process groups, as before, and said once at start.
type containment struct {
	mgr     *cgroup.Manager // nil: process groups only
	caps    cgroup.Capabilities
	without string // why mgr is nil
	seq     atomic.Uint64
	// spawner forks the processes of every instance that needs no thread
	// of its own (see home). It lives until close, which comes after every
	// instance has stopped: a child's Pdeathsig fires when it ends.
	spawner *forker
}

// newContainment detects the machine's cgroups and makes the supervisor's
// parent groups. It must run before the supervisor starts any process: on
// cgroup2 it may move the supervisor into a leaf of its own.
func newContainment(log *slog.Logger, off bool) *containment {
	c := &containment{}
	c.spawner, _ = newForker(func() error { return nil }) // settles nothing: cannot fail
	if off {
		c.without = "cgroups turned off for this supervisor"
		log.Info("plugins contained by process group only", "why", c.without)
		return c
	}
	l, err := cgroup.Detect()
	if err == nil {
		c.mgr, err = cgroup.New(l, cgroup.Options{Name: parentName()})
	}
	if err != nil {
		c.without = err.Error()
		log.Warn("no cgroups: plugins are contained by process group only, without limits; a plugin's child that calls setsid can outlive it", "why", err)
		return c
	}
	c.sweep(log)
	c.caps = c.mgr.Capabilities()
	log.Info("plugins contained by cgroup", "layout", c.mgr.Layout().Describe(), "kill", c.caps.Kill.String())
	if missing := c.caps.Missing(); len(missing) > 0 {
		log.Warn("some containment is not available on this machine", "missing", strings.Join(missing, "; "))
	}
	return c
}

// sweep removes the cgroups of supervisors that died with their watchdog,
// killing what was left in them.
func (c *containment) sweep(log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	removed, err := c.mgr.SweepStale(ctx, deadOwner)
	if len(removed) > 0 {
		log.Warn("killed and removed the cgroups of a supervisor that died with its watchdog", "dirs", removed)
	}
	if err != nil {
		log.Warn("stale cgroups not all removed", "err", err)
	}
}

// parentName names a supervisor's cgroups by its pid, the pid's start time
// and its pid namespace, then a random part, which makes it unique per
// supervisor and not only per process (tests, and programs embedding
// plugvisor, may run several). The first three let another supervisor tell
// a dead owner for sure: a pid reused since, or a supervisor in another pid
// namespace (a container on a shared cgroup mount), is not dead.
func parentName() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	pid := os.Getpid()
	return fmt.Sprintf("plugvisor-%d-%d-%d-%s", pid, startTime(pid), pidNamespace(), hex.EncodeToString(b[:]))
}

// deadOwner says whether a parent's name is that of a supervisor of this pid
// namespace whose process is gone.
func deadOwner(name string) bool {
	var pid int
	var start, ns uint64
	var rest string
	if n, _ := fmt.Sscanf(name, "plugvisor-%d-%d-%d-%s", &pid, &start, &ns, &rest); n != 4 || pid <= 0 {
		return false
	}
	return ns == pidNamespace() && startTime(pid) != start
}

// startTime is field 22 of /proc/<pid>/stat, in clock ticks since boot; 0
// when there is no such process.
func startTime(pid int) uint64 {
	st, ok := readStat(pid, make([]byte, 0, 1024))
	if !ok {
		return 0
	}
	return st.start
}

// pidNamespace is the inode of this process's pid namespace.
func pidNamespace() uint64 {
	var st syscall.Stat_t
	if syscall.Stat("/proc/self/ns/pid", &st) != nil {
		return 0
	}
	return st.Ino
}

// newGroup makes the cgroup of one instance; nil without cgroups. An
// instance without limits needs no v1 groups where there is cgroup2: that
// is what keeps it off a thread of its own on a hybrid machine.
func (c *containment) newGroup(instance string, limited bool) (*cgroup.Group, error) {
	if c.mgr == nil {
		return nil, nil
	}
	name := fmt.Sprintf("%s-%d", instance, c.seq.Add(1))
	if !limited {
		return c.mgr.NewUnlimitedGroup(name)
	}
	return c.mgr.NewGroup(name)
}

// setLimits sets an instance's limits before a process starts in its
// group. A limit the machine cannot enforce is returned in notEnforced, not
// as an error: the plugin still runs, and the operator is told which limits
// hold.
func (c *containment) setLimits(g *cgroup.Group, l registry.Limits) (notEnforced, err error) {
	if g == nil {
		if !l.IsZero() {
			notEnforced = fmt.Errorf("%s: no cgroups (%s)", l, c.without)
		}
		return notEnforced, nil
	}
	err = g.SetLimits(limitsOf(l))
	if err != nil && onlyNotEnforced(err) {
		return err, nil
	}
	return nil, err
}

func limitsOf(l registry.Limits) cgroup.Limits {
	return cgroup.Limits{
		MemoryMax: int64(l.MemoryMax), MemoryHigh: int64(l.MemoryHigh),
		CPUMax: l.CPUMax, PidsMax: int64(l.PidsMax),
	}
}

// onlyNotEnforced says whether every error joined in err is a limit the
// machine has no controller for.
func onlyNotEnforced(err error) bool {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			if e != nil && !onlyNotEnforced(e) {
				return false
			}
		}
		return true
	}
	return errors.Is(err, cgroup.ErrNotEnforced)
}

func removeGroup(g *cgroup.Group, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	return g.Remove(ctx)
}

// holds says whether a zombie child of the supervisor was in a plugin's
// cgroup.
func (c *containment) holds(pid int) bool { return c.mgr != nil && c.mgr.Holds(pid) }

// describe is the containment as `plugvisor check`, the log and the
// console's Info say it: one line per feature.
func (c *containment) describe() []string {
	if c.mgr == nil {
		return []string{
			"cgroups: none (" + c.without + ")",
			"kill: SIGKILL to the process group; a child that called setsid or setpgid is not reached",
			"limits: not enforced",
		}
	}
	return strings.Split(c.caps.String(), "\n")
}

// parents are the directories the instances' cgroups are made in.
func (c *containment) parents() []string {
	if c.mgr == nil {
		return nil
	}
	return c.mgr.Parents()
}

func (c *containment) close() error {
	c.spawner.close()
	if c.mgr == nil {
		return nil
	}
	return c.mgr.Close()
}

// DescribeContainment says, without changing anything, how a supervisor
// started now would contain the plugins of cfg on this machine: a line per
// feature, then a line per plugin with a limit, a user or a sandbox. It is
// what `plugvisor check` prints.
func DescribeContainment(cfg *registry.Config) []string {
	var caps *cgroup.Capabilities
	lines := []string{}
	if l, err := cgroup.Detect(); err != nil {
		lines = append(lines, "cgroups: none ("+err.Error()+")")
	} else {
		c := l.Capabilities()
		caps = &c
		lines = append(lines, strings.Split(c.String(), "\n")...)
	}
	lines = append(lines, "sandbox: "+sandbox.Probe().String())
	for _, p := range cfg.Plugins {
		if line := describePlugin(p, caps); line != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

func describePlugin(p *registry.Plugin, caps *cgroup.Capabilities) string {
	var parts []string
	if !p.Limits.IsZero() {
		parts = append(parts, p.Limits.String()+limitsHeld(p.Limits, caps))
	}
	if label := userLabel(p); label != "" {
		parts = append(parts, "runs as "+label)
	}
	if p.Sandbox != nil {
		parts = append(parts, "sandboxed")
	}
	if len(parts) == 0 {
		return ""
	}
	return "plugin " + p.Name + ": " + strings.Join(parts, "; ")
}

// limitsHeld names the configured limits this machine cannot enforce.
func limitsHeld(l registry.Limits, caps *cgroup.Capabilities) string {
	if caps == nil {
		return " (not enforced: no cgroups)"
	}
	var missing []string
	for _, c := range []struct {
		set bool
		s   cgroup.Support
		key string
	}{
		{l.MemoryMax > 0, caps.MemoryMax, "memory_max"}, {l.MemoryHigh > 0, caps.MemoryHigh, "memory_high"},
		{l.CPUMax > 0, caps.CPUMax, "cpu_max"}, {l.PidsMax > 0, caps.PidsMax, "pids_max"},
	} {
		if c.set && !c.s.OK() {
			missing = append(missing, c.key+": "+c.s.Why)
		}
	}
	if len(missing) == 0 {
		return " (enforced)"
	}
	return " (not enforced: " + strings.Join(missing, "; ") + ")"
}
