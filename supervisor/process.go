package supervisor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/registry"
)

// process is one running plugin process and the group it leads.
type process struct {
	cmd     *exec.Cmd
	pid     int
	pgid    int
	started time.Time
	exited  chan struct{} // closed once the process has exited (it is not reaped yet)
	state   *os.ProcessState
	waitErr error
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
	stdout   *os.File // write ends; closed by spawn
	stderr   *os.File
}

// spawn starts the verified executable and puts its group on the watchdog's
// list. It runs the sealed in-memory copy that was hashed (as /proc/self/fd/3
// in the child), never the path, so a file swapped after verification cannot
// run.
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
	cmd := &exec.Cmd{
		Path:        "/proc/self/fd/3",
		Args:        append([]string{sp.plugin.Exec}, sp.plugin.Args...),
		Env:         pluginEnv(sp.plugin, l.socket, sp.instance),
		Dir:         sp.dir,
		Stdin:       stdin,
		Stdout:      sp.stdout,
		Stderr:      sp.stderr,
		ExtraFiles:  []*os.File{sp.exe.File},
		SysProcAttr: processAttrs(),
	}
	if err := l.spawner.start(cmd); err != nil {
		return nil, fmt.Errorf("exec %s: %w", sp.plugin.Exec, err)
	}
	p := &process{cmd: cmd, pid: cmd.Process.Pid, pgid: cmd.Process.Pid, started: time.Now(), exited: make(chan struct{})}
	l.watchdog.add(p.pgid)
	go p.wait()
	return p, nil
}

// wait notices the exit of the group's first process but leaves it a
// zombie: while it is unreaped its pid, which is the group's id, cannot be
// given to a new process, so killing and reaping what is left of the group
// can never reach someone else's. collect reaps it afterwards.
func (p *process) wait() {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, p.pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			break
		}
	}
	close(p.exited)
}

// collect kills and reaps every other member of the group, then reaps the
// first process itself. Call it once, after exited is closed.
func (p *process) collect(limit time.Duration) {
	_ = killGroup(p.pgid, syscall.SIGKILL)
	reapMembers(p.pgid, p.pid, limit)
	p.waitErr = p.cmd.Wait()
	p.state = p.cmd.ProcessState
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

// prepareDir makes <work>/plugin/<name>/, the working directory and log
// directory every instance of the plugin shares, and returns its path. The
// chmod is not redundant: MkdirAll leaves an existing directory's mode as it
// was, and one left 0755 would open the plugin's working directory to
// other users.
func prepareDir(work, name string) (string, error) {
	dir := filepath.Join(work, "plugin", name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("plugin dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", fmt.Errorf("plugin dir: %w", err)
	}
	return dir, nil
}
