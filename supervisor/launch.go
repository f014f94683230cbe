package supervisor

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/plugvisor/plugvisor/internal/cgroup"
	"github.com/plugvisor/plugvisor/internal/sandbox"
	"github.com/plugvisor/plugvisor/registry"
)

// launch verifies and starts a new process.
func (in *instance) launch(reason string) {
	if in.proc != nil {
		// Two processes of one instance would share its cgroup and its
		// process-group bookkeeping: never.
		in.log.Error("launch refused: the instance's process is still running", "pid", in.proc.pid, "reason", reason)
		return
	}
	in.stopTimer()
	p := in.config()
	in.setState(StateStarting, reason)
	proc, err := in.startBounded(p)
	if err != nil {
		in.permanent, in.lastRun = registry.IsPermanent(err) || errors.Is(err, errUnreachable), 0
		in.recordExit(Exit{Time: time.Now(), Code: -1, Reason: err.Error()})
		in.afterExit(err.Error(), true)
		return
	}
	in.mu.Lock()
	in.proc = proc
	in.st.PID, in.st.PGID, in.st.Started = proc.pid, proc.pgid, proc.started
	in.st.Cgroup = firstDir(proc.group)
	in.mu.Unlock()
	in.exitWhy, in.permanent = "", false
	in.setTimer(timerRegister, p.StartTimeout)
}

// maxStarting bounds the instances starting at once, verification to
// fork: a start is mostly blocking system calls (hashing and copying the
// executable, mkdir, chown, fork), during each of which Go hands the
// goroutine's processor to another OS thread. Hundreds of plugins started
// at once would leave the supervisor with a thread for each, which Go never
// gives back; four at a time keep two cores busy all the same.
const maxStarting = 4

// startBounded is start, within maxStarting. The wait for registration
// that follows holds no place.
func (in *instance) startBounded(p *registry.Plugin) (*process, error) {
	if sem := in.env.launcher.starting; sem != nil {
		sem <- struct{}{}
		defer func() { <-sem }()
	}
	return in.start(p)
}

// errUnreachable marks a plugin whose user cannot reach its socket or
// directory: starting it again changes nothing until the operator does.
var errUnreachable = errors.New("unreachable for the plugin's user")

func firstDir(g *cgroup.Group) string {
	if g == nil {
		return ""
	}
	return g.Dirs()[0]
}

func (in *instance) start(p *registry.Plugin) (*process, error) {
	t0 := time.Now()
	l := in.env.launcher
	exe, err := in.verify(p)
	if err != nil {
		return nil, err
	}
	if hook := l.afterVerify; hook != nil {
		hook(p)
	}
	sp, err := in.prepare(p, exe)
	if err != nil {
		exe.File.Close()
		return nil, err
	}
	proc, err := l.spawn(sp)
	if err != nil {
		in.discard(sp)
		return nil, err
	}
	in.capture(p, sp)
	in.recordVersion(p, exe.Signature)
	in.log.Debug("spawned", "pid", proc.pid, "verify+exec", time.Since(t0), "cgroup", firstDir(proc.group))
	return proc, nil
}

// prepare makes what the process is started with: its user's socket and
// directory, its cgroup with the limits set, its sandbox, and the pipes of
// its output.
func (in *instance) prepare(p *registry.Plugin, exe *registry.Executable) (spawnSpec, error) {
	sp := spawnSpec{plugin: p, exe: exe, instance: in.id, dir: in.st.WorkDir}
	var err error
	if sp.socket, err = in.env.launcher.sockets.forUID(p.UID); err != nil {
		return sp, fmt.Errorf("plugin socket: %w", err)
	}
	if err := in.ownDir(p, sp.socket); err != nil {
		return sp, err
	}
	var spec *sandbox.Spec
	if p.Sandbox != nil {
		if err := checkSandboxPaths(p); err != nil {
			return sp, fmt.Errorf("%w: %w", errUnreachable, err)
		}
		s := sandboxSpec(p, exe, sp.dir)
		spec = &s
	}
	if sp.home, err = in.homeFor(spec, !p.Limits.IsZero()); err != nil {
		return sp, err
	}
	stale, err := sp.home.nextRun()
	if err != nil {
		return sp, err
	}
	if stale != nil {
		in.log.Warn("starting in a fresh cgroup; the last run's is left for later", "err", stale)
	}
	notEnforced, err := in.env.launcher.contain.setLimits(sp.home.group, p.Limits)
	if err != nil {
		return sp, fmt.Errorf("limits: %w", err)
	}
	in.noteLimits(p, notEnforced)
	in.mu.Lock()
	in.st.User, in.st.Sandboxed = userLabel(p), p.Sandbox != nil
	in.mu.Unlock()
	if err := in.pipes(&sp); err != nil {
		in.discard(sp)
		return sp, err
	}
	return sp, nil
}

// ownDir gives a plugin of another user its working directory, and checks
// that the user can reach it and its socket at all.
func (in *instance) ownDir(p *registry.Plugin, socket string) error {
	uid, gid := credOf(p)
	if p.UID < 0 && p.GID < 0 {
		// Back to the supervisor's own user: a directory an earlier
		// configuration gave another user is taken back.
		return os.Lchown(in.st.WorkDir, uid, gid)
	}
	work := in.env.settings().WorkDir
	if err := traversable(work, filepath.Dir(in.st.WorkDir)); err != nil {
		return err
	}
	if err := os.Lchown(in.st.WorkDir, uid, gid); err != nil {
		return fmt.Errorf("plugin dir: %w", err)
	}
	for _, path := range []string{in.st.WorkDir + "/.", socket} {
		if err := reachable(path, uid, gid); err != nil {
			return fmt.Errorf("%s: %w: %w", p.Name, errUnreachable, err)
		}
	}
	return nil
}

// userLabel names a plugin's user for the status; empty for the
// supervisor's own.
func userLabel(p *registry.Plugin) string {
	if p.UID < 0 && p.GID < 0 {
		return ""
	}
	uid, gid := credOf(p)
	return fmt.Sprintf("%s (uid %d, gid %d)", cmp.Or(p.User, p.Group), uid, gid)
}

// credOf is the uid and gid a plugin runs as.
func credOf(p *registry.Plugin) (uid, gid int) {
	uid, gid = os.Getuid(), os.Getgid()
	if p.UID >= 0 {
		uid = p.UID
	}
	if p.GID >= 0 {
		gid = p.GID
	}
	return uid, gid
}

// noteLimits records which limits hold, for the status and the log.
func (in *instance) noteLimits(p *registry.Plugin, notEnforced error) {
	in.mu.Lock()
	in.st.Limits = p.Limits.String()
	in.st.LimitsNotEnforced = ""
	if notEnforced != nil {
		in.st.LimitsNotEnforced = notEnforced.Error()
	}
	in.mu.Unlock()
	if notEnforced != nil {
		in.log.Warn("limits not enforced on this machine", "limits", p.Limits.String(), "why", notEnforced)
	}
}

func (in *instance) pipes(sp *spawnSpec) error {
	outR, outW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return fmt.Errorf("stderr pipe: %w", err)
	}
	sp.stdout, sp.stderr, sp.outR, sp.errR = outW, errW, outR, errR
	return nil
}

// discard undoes prepare for a process that did not start.
func (in *instance) discard(sp spawnSpec) {
	for _, f := range []*os.File{sp.outR, sp.errR} {
		if f != nil {
			f.Close()
		}
	}
}

// homeFor is the instance's home for a process with sandbox spec, limited
// or not: the one it has, or, the first time, when the sandbox changed and
// when limits come to an instance that had none, a new one.
func (in *instance) homeFor(spec *sandbox.Spec, limited bool) (*home, error) {
	if in.home != nil && in.home.fits(spec, limited) {
		return in.home, nil
	}
	in.closeHome()
	h, skipped, err := newHome(in.env.launcher.contain, in.id, spec, limited)
	if err != nil {
		return nil, fmt.Errorf("instance home (its forking thread and cgroup): %w", err)
	}
	if len(skipped) > 0 {
		in.log.Warn("sandbox paths that do not exist get no rule and stay out of reach", "paths", skipped)
	}
	in.home = h
	return h, nil
}

// closeHome ends the instance's forking thread and removes its cgroup; no
// process of it may be running.
func (in *instance) closeHome() {
	if in.home == nil {
		return
	}
	if err := in.home.close(); err != nil {
		in.log.Warn("instance cgroup not removed", "err", err)
	}
	in.home = nil
}

func (in *instance) capture(p *registry.Plugin, sp spawnSpec) {
	emit := func(l LogLine) {
		in.env.bus.publish(Event{Type: EventLog, Time: l.Time, Plugin: p.Name, Instance: in.id, Log: l})
	}
	in.captures.Add(2)
	go func() { defer in.captures.Done(); capture(sp.outR, in.stdout, Stdout, in.id, in.logs, emit) }()
	go func() { defer in.captures.Done(); capture(sp.errR, in.stderr, Stderr, in.id, in.logs, emit) }()
}
