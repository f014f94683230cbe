package supervisor

import (
	"fmt"
	"os"
	"time"

	"github.com/plugvisor/plugvisor/registry"
)

// launch verifies and starts a new process.
func (in *instance) launch(reason string) {
	in.stopTimer()
	p := in.config()
	in.setState(StateStarting, reason)
	proc, err := in.start(p)
	if err != nil {
		in.permanent, in.lastRun = registry.IsPermanent(err), 0
		in.recordExit(Exit{Time: time.Now(), Code: -1, Reason: err.Error()})
		in.afterExit(err.Error(), true)
		return
	}
	in.mu.Lock()
	in.proc = proc
	in.st.PID, in.st.PGID, in.st.Started = proc.pid, proc.pgid, proc.started
	in.mu.Unlock()
	in.exitWhy, in.permanent = "", false
	in.setTimer(timerRegister, p.StartTimeout)
}

func (in *instance) start(p *registry.Plugin) (*process, error) {
	t0 := time.Now()
	exe, err := in.env.verifier.Verify(p.Exec, p.SHA256)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if hook := in.env.launcher.afterVerify; hook != nil {
		hook(p)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		exe.File.Close()
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		exe.File.Close()
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("stderr pipe: %w", err)
	}
	proc, err := in.env.launcher.spawn(spawnSpec{
		plugin: p, exe: exe, instance: in.id, dir: in.st.WorkDir, stdout: outW, stderr: errW,
	})
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	emit := func(l LogLine) {
		in.env.bus.publish(Event{Type: EventLog, Time: l.Time, Plugin: p.Name, Instance: in.id, Log: l})
	}
	in.log.Debug("spawned", "pid", proc.pid, "verify+exec", time.Since(t0))
	go capture(outR, in.stdout, Stdout, in.id, in.logs, emit)
	go capture(errR, in.stderr, Stderr, in.id, in.logs, emit)
	return proc, nil
}
