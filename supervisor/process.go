package supervisor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/plugvisor/plugvisor/internal/cgroup"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/registry"
)

// process is one running plugin process, the group it leads and, where
// the machine has cgroups, the cgroup that holds it and all it starts.
type process struct {
	cmd     *exec.Cmd
	pid     int
	pgid    int
	group   *cgroup.Group // nil: process group only
	started time.Time
	exited  <-chan struct{} // closed once the process has exited (it is not reaped yet)
	state   *os.ProcessState
	waitErr error
	// base and stats are the group's counters when the process started, and
	// what this run added to them: an OOM kill is known from them.
	base, stats cgroup.Stats
}

// inheritedEnv lists the supervisor's variables a plugin sees. Plugins get a
// small, predictable environment, not the operator's whole shell: secrets in
// the supervisor's environment are not theirs to read.
func inheritedEnv() []string {
	return []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR"}
}

func pluginEnv(p *registry.Plugin, socket, instance string) []string {
	keys := inheritedEnv()
	env := make([]string, 0, len(keys)+len(p.Env)+3)
	for _, k := range keys {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	for k, v := range p.Env {
		env = append(env, k+"="+v)
	}
	return append(env,
		protocol.EnvSocket+"="+socket,
		protocol.EnvPlugin+"="+p.Name,
		protocol.EnvInstance+"="+instance,
	)
}

// spawnSpec is everything needed to start one instance.
type spawnSpec struct {
	plugin   *registry.Plugin
	exe      *registry.Executable
	instance string
	dir      string
	socket   string   // the plugin socket this plugin's user can reach
	home     *home    // the thread it is forked from and the cgroup it is born in
	stdout   *os.File // write ends; closed by spawn
	stderr   *os.File
	outR     *os.File // read ends, for capture
	errR     *os.File
}

// spawn starts the verified executable and puts it on the watchdog's list.
// It runs the sealed copy that was hashed (as /proc/self/fd/3 in the child,
// directly or as the script its verified interpreter runs), never the path,
// so a file swapped after verification cannot run. The child is born in its
// cgroup, under its own user and sandbox if configured (see home).
func (l *launcher) spawn(sp spawnSpec) (*process, error) {
	// The child holds its own copies of these once started.
	defer sp.exe.File.Close()
	defer sp.stdout.Close()
	defer sp.stderr.Close()
	stdin, err := devNull()
	if err != nil {
		return nil, err
	}
	defer stdin.Close()
	path, argv := sp.exe.Command("/proc/self/fd/3", sp.plugin.Args)
	cmd := &exec.Cmd{
		Path:        path,
		Args:        argv,
		Env:         pluginEnv(sp.plugin, sp.socket, sp.instance),
		Dir:         sp.dir,
		Stdin:       stdin,
		Stdout:      sp.stdout,
		Stderr:      sp.stderr,
		ExtraFiles:  []*os.File{sp.exe.File},
		SysProcAttr: processAttrs(sp.plugin),
	}
	p := &process{cmd: cmd, group: sp.home.group}
	if p.group != nil {
		p.base, _ = p.group.LimitHits()
	}
	if err := sp.home.fork(cmd, l.kids); err != nil {
		return nil, fmt.Errorf("exec %s: %w", sp.plugin.Exec, err)
	}
	p.pid, p.pgid, p.started = cmd.Process.Pid, cmd.Process.Pid, time.Now()
	p.exited = l.watchExit(p.pid)
	l.watchdog.add(watchEntry{pgid: p.pgid, cgroups: groupDirs(p.group)})
	return p, nil
}

func groupDirs(g *cgroup.Group) []string {
	if g == nil {
		return nil
	}
	return g.Dirs()
}

// collect kills and reaps every other process of the plugin, then reaps the
// first process itself. Call it once, after exited is closed. Nothing here
// reads the machine's process list: with a cgroup, "all gone" is the
// kernel's populated flag, and the zombies the supervisor adopted are found
// among the group's members, listed before the kill (setsid escapees
// included), and in the plugin's process group; without one, the process
// group is reaped until the kernel says it is empty. What still escapes
// both (a process forked between the list and the kill, then orphaned) is
// the SIGCHLD sweep's. The group stays for the instance's next process.
func (p *process) collect(limit time.Duration, l *launcher) {
	var pids []int
	var listed error
	if p.group != nil {
		pids, listed = p.group.Procs()
	}
	members := listMembers(pids)
	_ = killGroup(p.pgid, syscall.SIGKILL)
	if p.group != nil {
		// A group that lists no process has none left to kill or wait
		// for (an exited process leaves cgroup.procs; a zombie is not
		// listed) and none that could fork: the common end, a plugin that
		// left alone, costs one read.
		if len(pids) > 0 || listed != nil {
			if err := p.empty(limit); err != nil {
				l.log.Warn("plugin cgroup not emptied", "dirs", p.group.Dirs(), "err", err)
			}
		}
		end, _ := p.group.LimitHits()
		p.stats = cgroup.Stats{OOMKills: end.OOMKills - p.base.OOMKills, PidsMaxHits: end.PidsMaxHits - p.base.PidsMaxHits}
	}
	// Off the watchdog's list while the group's id is still held by the
	// unreaped first process: once reaped, the id may be someone else's.
	l.release(p)
	l.kids.reap(p.pid, func() {
		p.waitErr = p.cmd.Wait()
		reapGroup(p.pgid, l.kids)
	})
	p.state = p.cmd.ProcessState
	deadline := time.Now().Add(limit)
	if p.group != nil {
		l.reapListed(members, deadline)
	} else {
		l.reapUntilEmpty(p.pgid, deadline)
	}
}

func (p *process) empty(limit time.Duration) error {
	if err := p.group.Kill(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	return p.group.WaitEmpty(ctx)
}

// kill signals what the plugin started: SIGKILL reaches the whole cgroup,
// children that left the process group included; a polite signal goes to
// the process group, whose members can act on it.
func (p *process) kill(sig syscall.Signal) {
	_ = killGroup(p.pgid, sig)
	if sig == syscall.SIGKILL && p.group != nil {
		_ = p.group.Kill()
	}
}

// exit describes how the reaped process ended.
func (p *process) exit(reason string) Exit {
	e := Exit{Time: time.Now(), Code: -1, Reason: reason}
	if p.state == nil {
		if reason == "" && p.waitErr != nil {
			e.Reason = p.waitErr.Error()
		}
		return e
	}
	ws, ok := p.state.Sys().(syscall.WaitStatus)
	switch {
	case ok && ws.Signaled():
		e.Signal = ws.Signal().String()
	default:
		e.Code = p.state.ExitCode()
	}
	if e.Reason == "" {
		e.Reason = e.String()
	}
	return e
}

// failed reports whether the exit counts as a failure for on-failure.
func (e Exit) failed() bool { return e.Code != 0 }

// prepareDir makes <work>/<kind>/<name>/: the working directory every
// instance of the plugin shares (kind "plugin"; given to the plugin's user
// when it has one) or its log directory (kind "log"; the supervisor's
// alone, so a plugin can neither read its siblings' output nor rewrite its
// own record). The chmod is not redundant: MkdirAll leaves an existing
// directory's mode as it was, and one left 0755 would open it to other
// users.
func prepareDir(work, kind, name string) (string, error) {
	dir := filepath.Join(work, kind, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("%s dir: %w", kind, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", fmt.Errorf("%s dir: %w", kind, err)
	}
	return dir, nil
}
