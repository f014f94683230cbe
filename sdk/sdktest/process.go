package sdktest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Command prepares the plugin executable at path as plugvisor starts one:
// the supervisor's environment, stdin from /dev/null. Pass it to Exec.
func (s *Supervisor) Command(path, plugin string, args ...string) *exec.Cmd {
	cmd := exec.Command(path, args...)
	cmd.Env = s.Environ(plugin, "test-1")
	return cmd
}

// Process is a running plugin subprocess whose output is captured line by line.
type Process struct {
	Cmd    *exec.Cmd
	Stdout *Lines
	Stderr *Lines

	t     testing.TB
	done  chan struct{}
	state *os.ProcessState
}

// Exec starts cmd in its own process group (as plugvisor does), capturing
// stdout and stderr unless they are set. When the test ends the whole group
// is killed and reaped.
func Exec(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{Cmd: cmd, Stdout: &Lines{}, Stderr: &Lines{}, t: t, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = p.Stdout
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.Stderr
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A grandchild holding the output pipes must not keep Wait waiting.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("sdktest: start %s: %v", cmd.Path, err)
	}
	go func() {
		defer close(p.done)
		_ = cmd.Wait() // the state says how it ended
		p.state = cmd.ProcessState
	}()
	t.Cleanup(p.kill)
	return p
}

func (p *Process) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	if p.t.Failed() {
		p.t.Logf("plugin stderr:\n%s", strings.Join(p.Stderr.All(), "\n"))
	}
}

// Pid is the process id (and process group id).
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Signal sends sig to the process.
func (p *Process) Signal(sig syscall.Signal) {
	p.t.Helper()
	if err := syscall.Kill(p.Pid(), sig); err != nil {
		p.t.Fatalf("sdktest: signal %v: %v", sig, err)
	}
}

// Wait waits for the process to exit and returns how it ended.
func (p *Process) Wait() *os.ProcessState {
	p.t.Helper()
	select {
	case <-p.done:
		return p.state
	case <-time.After(Timeout):
		p.t.Fatalf("sdktest: process %d still running after %v; stderr:\n%s", p.Pid(), Timeout, strings.Join(p.Stderr.All(), "\n"))
		return nil
	}
}

// WaitExit waits for the process to exit and returns its exit code, failing
// the test if a signal ended it.
func (p *Process) WaitExit() int {
	p.t.Helper()
	st := p.Wait()
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		p.t.Fatalf("sdktest: process killed by %v; stderr:\n%s", ws.Signal(), strings.Join(p.Stderr.All(), "\n"))
	}
	return st.ExitCode()
}

// Lines collects written text as lines. It is an io.Writer safe for
// concurrent use.
type Lines struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	changed chan struct{}
}

func (l *Lines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, b...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	return len(b), nil
}

// All returns the complete lines so far.
func (l *Lines) All() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// WaitLines waits until cond holds for the lines so far and returns them.
func (l *Lines) WaitLines(t testing.TB, what string, cond func(lines []string) bool) []string {
	t.Helper()
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	for {
		l.mu.Lock()
		if cond(l.lines) {
			lines := slices.Clone(l.lines)
			l.mu.Unlock()
			return lines
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			t.Fatalf("sdktest: no %s within %v; lines so far:\n%s", what, Timeout, strings.Join(l.All(), "\n"))
		}
	}
}

// WaitContaining waits for a line containing substr and returns it.
func (l *Lines) WaitContaining(t testing.TB, substr string) string {
	t.Helper()
	var found string
	l.WaitLines(t, fmt.Sprintf("line containing %q", substr), func(lines []string) bool {
		for _, line := range lines {
			if strings.Contains(line, substr) {
				found = line
				return true
			}
		}
		return false
	})
	return found
}
