package supervisor

import (
	"cmp"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
)

// onSessionEnd: the connection is gone, so the process is no use any more.
// A plugin that said goodbye, or sent a frame that broke the protocol, gets
// the stop grace to exit (it sees the end of the stream); one that just
// disconnected gets a moment, so its crash is reported as its exit status; a
// hung one, or one whose writes failed, is killed at once: it is not reading,
// so it would not notice the end.
func (in *instance) onSessionEnd() {
	s := in.detachSession()
	reason := s.err.Error()
	if in.proc == nil {
		return
	}
	// Until the process is gone the instance can take no task: say so.
	in.setState(StateStopping, reason)
	grace := in.env.settings().StopGrace
	switch {
	case s.goodbye.Load() != nil:
		in.exitNote = reason
		in.setTimer(timerExit, grace)
	case errors.Is(s.err, errDisconnected):
		// No goodbye: a crash, whatever the exit status turns out to be.
		in.exitNote, in.noGoodbye = reason, true
		in.setTimer(timerExit, min(grace, disconnectGrace))
	case isProtocolError(s.err):
		in.exitWhy = cmp.Or(in.exitWhy, reason)
		in.log.Warn("protocol error; the plugin has its stop grace to leave", "reason", reason, "grace", grace)
		in.setTimer(timerExit, grace)
	default:
		in.exitWhy = cmp.Or(in.exitWhy, reason)
		in.log.Warn("session ended; killing the plugin's processes", "reason", reason, "pgid", in.proc.pgid)
		in.proc.kill(syscall.SIGKILL)
	}
}

// isProtocolError reports whether a session ended because of what the
// plugin sent, as opposed to silence or a failed write.
func isProtocolError(err error) bool {
	var perr *protocol.Error
	return errors.As(err, &perr) || errors.Is(err, errUnexpected)
}

// disconnectGrace is how long a process that closed its connection without
// goodbye may take to exit before it is killed.
const disconnectGrace = 250 * time.Millisecond

func (in *instance) detachSession() *session {
	s := in.sess
	in.mu.Lock()
	in.totals = s.counters(in.totals)
	in.sess = nil
	in.mu.Unlock()
	return s
}

// onExit: the process was reaped. Kill what is left of its group, then let
// the restart policy decide.
func (in *instance) onExit() {
	p := in.reap()
	in.lastRun = time.Since(p.started)
	exit := p.exit(in.exitWhy)
	limited := in.limitExit(p, exit)
	switch {
	case limited.Reason != exit.Reason:
		exit = limited
	case in.exitWhy != "":
		exit.Reason = in.exitWhy + " (" + exit.String() + ")"
	case in.exitNote != "":
		exit.Reason = "exited: " + exit.String() + " (" + in.exitNote + ")"
	default:
		exit.Reason = "exited: " + exit.String()
	}
	failed := exit.failed() || in.exitWhy != "" || in.noGoodbye
	in.exitWhy, in.exitNote, in.noGoodbye = "", "", false
	in.recordExit(exit)
	in.afterExit(exit.Reason, failed)
	if why := in.startAfterExit; why != "" {
		in.startAfterExit = ""
		in.failures, in.restarts = 0, nil
		in.waiters, in.deferred = append(in.waiters, in.deferred...), nil
		in.launch(why)
	}
}

// undefer drops a start that waited for the process to stop, when another
// command comes first: its callers hear the outcome of what that command
// does instead.
func (in *instance) undefer() {
	in.waiters, in.deferred, in.startAfterExit = append(in.waiters, in.deferred...), nil, ""
}

// reap finishes with the current process: its group is killed (stragglers
// such as children it forked die with it) and its session closed.
func (in *instance) reap() *process {
	p := in.proc
	p.collect(in.env.termGrace, in.env.launcher)
	if in.sess != nil {
		in.sess.conn.Close()
		<-in.sess.done
		in.detachSession()
	}
	in.mu.Lock()
	in.proc = nil
	in.st.PID, in.st.PGID = 0, 0
	in.mu.Unlock()
	if in.timerWhy == timerRegister || in.timerWhy == timerExit || in.timerWhy == timerKill {
		in.stopTimer()
	}
	return p
}

func (in *instance) onTimer() {
	why := in.timerWhy
	in.timer, in.timerWhy = nil, timerNone
	switch why {
	case timerBackoff:
		in.launch("backoff elapsed")
	case timerRegister:
		if in.proc != nil {
			// A process rejected for good keeps that reason: not exiting
			// after a reject is not the failure to report.
			in.exitWhy = cmp.Or(in.exitWhy, fmt.Sprintf("did not register within %s", in.config().StartTimeout))
			in.proc.kill(syscall.SIGKILL)
		}
	case timerExit:
		// The grace is over: escalate as terminate does.
		if in.proc != nil {
			in.exitWhy = cmp.Or(in.exitWhy, in.exitNote) + "; still running after the grace"
			in.proc.kill(syscall.SIGTERM)
			in.setTimer(timerKill, in.env.termGrace)
		}
	case timerKill:
		if in.proc != nil {
			in.proc.kill(syscall.SIGKILL)
		}
	}
}

// terminate stops the current process, politely first: shutdown message,
// grace period, SIGTERM to the group, then SIGKILL.
func (in *instance) terminate(reason string) {
	if in.proc == nil {
		return
	}
	grace := in.env.settings().StopGrace
	in.setState(StateStopping, reason)
	if s := in.sess; s != nil {
		// Never from this goroutine: a plugin that stopped reading would
		// hold the whole lifecycle until a write deadline. Undelivered, the
		// grace runs out and SIGTERM follows.
		go s.shutdown(grace, reason)
	} else {
		grace = 0 // nobody to hear a shutdown message: go straight to SIGTERM
	}
	in.exitWhy = "stopped: " + reason
	p := in.proc
	if !waitFor(p.exited, grace) {
		p.kill(syscall.SIGTERM)
		if !waitFor(p.exited, in.env.termGrace) {
			p.kill(syscall.SIGKILL)
			<-p.exited
		}
	}
	in.reap()
	in.recordExit(in.limitExit(p, p.exit(in.exitWhy)))
	in.exitWhy, in.exitNote = "", ""
}

func waitFor(ch <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}
