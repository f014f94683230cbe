package supervisor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/plugvisor/plugvisor/internal/latest"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/registry"
)

// maxExits bounds the exit history kept per instance.
const maxExits = 20

// logRingLines is how many recent output lines each instance keeps in memory.
const logRingLines = 1000

// instance is one enrolled copy of a plugin. A single goroutine (run) owns its
// lifecycle; everything else asks it through channels, so state transitions
// never race. mu guards only what Snapshot reads.
type instance struct {
	sup   *Supervisor
	id    string
	log   *slog.Logger
	cmds  chan command
	joins chan joinReq
	quit  chan struct{} // closed when run returns

	logs   *logRing
	rtts   *rttRing
	stdout *rotatingFile
	stderr *rotatingFile

	mu     sync.Mutex
	plugin *registry.Plugin
	st     PluginStatus
	proc   *process
	sess   *session
	totals Counters // traffic of ended sessions

	// Owned by run.
	timer     *time.Timer
	timerWhy  timerKind
	lastRun   time.Duration // how long the last process ran, for the backoff reset
	exitWhy   string        // why the supervisor is ending the current process (counts as a failure)
	exitNote  string        // what the plugin said on leaving (does not)
	noGoodbye bool          // its connection closed without goodbye: a crash
	permanent bool          // the current failure must not be retried
	failures  int           // consecutive failed runs, for backoff
	restarts  []time.Time
	waiters   []chan error // Start/Restart callers waiting for the outcome
}

type timerKind int

const (
	timerNone     timerKind = iota
	timerRegister           // the process must register before it fires
	timerBackoff            // the next start is due
	timerExit               // a plugin that said goodbye must be gone by then
)

// op is what an operator or a reload asks of an instance.
type op int

const (
	opStart op = iota
	opStop
	opRestart
	opReplace // the configuration changed what the process runs
	opRemove  // the configuration no longer has the instance
)

type command struct {
	op     op
	plugin *registry.Plugin
	reason string
	reply  chan error
}

type joinReq struct {
	conn  *protocol.Conn
	hello *protocol.Hello
	pid   int
	uid   uint32
	reply chan *protocol.Reject
}

func newInstance(s *Supervisor, p *registry.Plugin, id string) (*instance, error) {
	in := &instance{
		sup: s, id: id, plugin: p,
		log:  s.log.With("plugin", p.Name, "instance", id),
		cmds: make(chan command), joins: make(chan joinReq), quit: make(chan struct{}),
		logs: newLogRing(logRingLines), rtts: &rttRing{},
	}
	dir, err := prepareDir(s.cfg().Agent.WorkDir, p.Name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	agent := s.cfg().Agent
	if in.stdout, err = openRotating(filepath.Join(dir, id+".stdout.log"), int64(agent.LogMaxSize), agent.LogBackups); err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	if in.stderr, err = openRotating(filepath.Join(dir, id+".stderr.log"), int64(agent.LogMaxSize), agent.LogBackups); err != nil {
		in.stdout.Close()
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	in.st = PluginStatus{
		Name: p.Name, Instance: id, State: StateStopped, Reason: "not started", Since: time.Now(),
		WorkDir: dir, StdoutLog: in.stdout.path, StderrLog: in.stderr.path,
	}
	in.describe(p)
	return in, nil
}

// describe copies the configuration into the status.
func (in *instance) describe(p *registry.Plugin) {
	in.mu.Lock()
	in.plugin = p
	in.st.Version, in.st.Exec, in.st.Args, in.st.SHA256 = p.Version, p.Exec, p.Args, p.SHA256
	in.mu.Unlock()
}

func (in *instance) config() *registry.Plugin {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.plugin
}

// run is the instance's lifecycle loop.
func (in *instance) run(ctx context.Context) {
	defer close(in.quit)
	defer in.stdout.Close()
	defer in.stderr.Close()
	for {
		select {
		case <-ctx.Done():
			in.stopTimer()
			in.terminate("supervisor shutting down")
			in.setState(StateStopped, "supervisor shut down")
			return
		case c := <-in.cmds:
			if in.handle(c) {
				return
			}
		case j := <-in.joins:
			j.reply <- in.join(j)
		case <-in.procExited():
			in.onExit()
		case <-in.sessDone():
			in.onSessionEnd()
		case <-in.timerC():
			in.onTimer()
		}
	}
}

func (in *instance) procExited() <-chan struct{} {
	if in.proc == nil {
		return nil
	}
	return in.proc.exited
}

func (in *instance) sessDone() <-chan struct{} {
	if in.sess == nil {
		return nil
	}
	return in.sess.done
}

func (in *instance) timerC() <-chan time.Time {
	if in.timer == nil {
		return nil
	}
	return in.timer.C
}

func (in *instance) setTimer(kind timerKind, d time.Duration) {
	in.stopTimer()
	in.timer, in.timerWhy = time.NewTimer(d), kind
}

func (in *instance) stopTimer() {
	if in.timer != nil {
		in.timer.Stop()
	}
	in.timer, in.timerWhy = nil, timerNone
}

// handle runs one operator command and reports whether the instance is gone.
func (in *instance) handle(c command) bool {
	switch c.op {
	case opStart:
		in.failures, in.restarts = 0, nil
		switch in.state() {
		case StateRunning:
			c.reply <- nil
		case StateStarting: // already on its way: answer with its outcome
			in.waiters = append(in.waiters, c.reply)
		default:
			in.waiters = append(in.waiters, c.reply)
			in.launch(c.reason)
		}
	case opStop:
		in.stopTimer()
		in.terminate(c.reason)
		in.setState(StateStopped, c.reason)
		c.reply <- nil
	case opRestart:
		in.failures, in.restarts = 0, nil
		in.terminate(c.reason)
		in.waiters = append(in.waiters, c.reply)
		in.launch(c.reason)
	case opReplace:
		in.describe(c.plugin)
		wasUp := in.proc != nil || in.state() == StateBackoff
		in.stopTimer()
		in.terminate(c.reason)
		if wasUp || c.plugin.AutoStart {
			in.failures, in.restarts = 0, nil
			in.launch(c.reason)
		} else {
			in.setState(StateStopped, c.reason)
		}
		c.reply <- nil
	case opRemove:
		in.stopTimer()
		in.terminate(c.reason)
		in.setState(StateStopped, c.reason)
		c.reply <- nil
		return true
	}
	return false
}

func (in *instance) state() State {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.st.State
}

func (in *instance) setState(s State, reason string) {
	in.mu.Lock()
	prev := in.st.State
	in.st.State, in.st.Reason, in.st.Since = s, reason, time.Now()
	in.mu.Unlock()
	lvl := slog.LevelInfo
	if s == StateFailed || s == StateExited {
		lvl = slog.LevelWarn
	}
	in.log.Log(context.Background(), lvl, "state", "from", string(prev), "to", string(s), "reason", reason)
	in.sup.bus.publish(Event{Type: EventState, Plugin: in.st.Name, Instance: in.id, State: s, Prev: prev, Reason: reason})
	in.resolveWaiters(s, reason)
}

// resolveWaiters answers Start/Restart callers once the attempt has an outcome.
func (in *instance) resolveWaiters(s State, reason string) {
	var err error
	switch s {
	case StateRunning:
	case StateBackoff, StateFailed, StateExited, StateStopped:
		err = fmt.Errorf("%s: %s: %s", in.id, s, reason)
	default:
		return
	}
	for _, w := range in.waiters {
		w <- err
	}
	in.waiters = nil
}

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
	exe, err := in.sup.verifier.Verify(p.Exec, p.SHA256)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if hook := in.sup.opts.afterVerify; hook != nil {
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
	proc, err := in.sup.spawn(spawnSpec{
		plugin: p, exe: exe, instance: in.id, socket: in.sup.pluginSocket(),
		dir: in.st.WorkDir, stdout: outW, stderr: errW,
	})
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	emit := func(l LogLine) {
		in.sup.bus.publish(Event{Type: EventLog, Time: l.Time, Plugin: p.Name, Instance: in.id, Log: l})
	}
	in.log.Debug("spawned", "pid", proc.pid, "verify+exec", time.Since(t0))
	go capture(outR, in.stdout, Stdout, in.id, in.logs, emit)
	go capture(errR, in.stderr, Stderr, in.id, in.logs, emit)
	return proc, nil
}

// join decides whether a connection that says it is this instance may
// register, and if so makes it the instance's session.
func (in *instance) join(j joinReq) *protocol.Reject {
	p := in.config()
	reject := func(code protocol.RejectCode, format string, args ...any) *protocol.Reject {
		r := &protocol.Reject{Code: code, Reason: fmt.Sprintf(format, args...), Versions: protocol.Versions()}
		in.log.Warn("registration rejected", "pid", j.pid, "code", string(code), "reason", r.Reason)
		return r
	}
	if in.sess != nil {
		return reject(protocol.RejectAlreadyConnected, "instance %s is already connected (pid %d)", in.id, in.st.PID)
	}
	if in.proc == nil || in.state() != StateStarting || in.exitWhy != "" {
		return reject(protocol.RejectCredentials, "instance %s is %s: the supervisor is not expecting it to register", in.id, cmp.Or(in.exitWhy, string(in.state())))
	}
	if err := checkPeer(j.uid, j.pid, in.proc.pgid, in.proc.pid); err != nil {
		return reject(protocol.RejectCredentials, "%s", err)
	}
	// From here the peer is this instance's own process: a reject means it
	// cannot work as configured, and restarting it would only repeat that.
	if j.hello.PID != j.pid {
		in.permanent, in.exitWhy = true, "protocol rejected: hello.pid does not match the connection"
		return reject(protocol.RejectCredentials, "hello says pid %d, but the kernel says the connection is from pid %d", j.hello.PID, j.pid)
	}
	if j.hello.Name != p.Name {
		in.permanent, in.exitWhy = true, "protocol rejected: wrong plugin name"
		return reject(protocol.RejectBadHello, "instance %s belongs to plugin %q, not %q", in.id, p.Name, j.hello.Name)
	}
	version, err := protocol.Negotiate(protocol.Versions(), j.hello.Versions)
	if err != nil {
		in.permanent, in.exitWhy = true, "protocol rejected: "+err.Error()
		return reject(protocol.RejectVersion, "%s", err)
	}
	in.log.Debug("hello accepted", "pid", j.pid, "since_exec", time.Since(in.proc.started))
	in.accept(j, version)
	return nil
}

func (in *instance) accept(j joinReq, version uint16) {
	agent := in.sup.cfg().Agent
	w := &protocol.Welcome{Protocol: version, Heartbeat: agent.HeartbeatInterval, Supervisor: agent.Name, MaxFrame: uint32(j.conn.MaxFrame())}
	if err := j.conn.Send(w); err != nil {
		in.log.Warn("welcome failed", "err", err)
		j.conn.Close()
		return
	}
	j.conn.SetReadTimeout(agent.HeartbeatTimeout)
	s := &session{
		conn: j.conn, name: in.st.Name, instance: in.id, hello: j.hello, proto: version,
		heartbeat: agent.HeartbeatInterval, hbTimeout: agent.HeartbeatTimeout,
		bus: in.sup.bus, rtts: in.rtts, tokens: in.sup.tokens,
		pending: map[string]*pendingTask{}, pings: map[uint64]chan time.Duration{},
		pongs: latest.New[protocol.Pong](), done: make(chan struct{}),
	}
	in.permanent, in.exitWhy, in.exitNote, in.noGoodbye = false, "", "", false
	in.mu.Lock()
	in.sess = s
	in.st.PluginVersion, in.st.Protocol = j.hello.Version, version
	in.mu.Unlock()
	go s.run()
	in.stopTimer()
	in.setState(StateRunning, fmt.Sprintf("registered (pid %d, protocol v%d)", j.pid, version))
}

// onSessionEnd: the connection is gone, so the process is no use any more.
// A plugin that said goodbye gets the stop grace to exit; one that just
// disconnected gets a moment, so its crash is reported as its exit status;
// a hung or misbehaving one is killed at once.
func (in *instance) onSessionEnd() {
	s := in.detachSession()
	reason := s.err.Error()
	if in.proc == nil {
		return
	}
	// Until the process is gone the instance can take no task: say so.
	in.setState(StateStopping, reason)
	switch {
	case s.goodbye.Load() != nil:
		in.exitNote = reason
		in.setTimer(timerExit, in.sup.cfg().Agent.StopGrace)
	case errors.Is(s.err, errDisconnected):
		// No goodbye: a crash, whatever the exit status turns out to be.
		in.exitNote, in.noGoodbye = reason, true
		in.setTimer(timerExit, min(in.sup.cfg().Agent.StopGrace, disconnectGrace))
	default:
		if in.exitWhy == "" {
			in.exitWhy = reason
		}
		in.log.Warn("session ended; killing process group", "reason", reason, "pgid", in.proc.pgid)
		_ = killGroup(in.proc.pgid, syscall.SIGKILL)
	}
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
	switch {
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
}

// reap finishes with the current process: its group is killed (stragglers
// such as children it forked die with it) and its session closed.
func (in *instance) reap() *process {
	p := in.proc
	p.collect(in.sup.opts.TermGrace)
	in.sup.watchdog.remove(p.pgid)
	if in.sess != nil {
		in.sess.conn.Close()
		<-in.sess.done
		in.detachSession()
	}
	in.mu.Lock()
	in.proc = nil
	in.st.PID, in.st.PGID = 0, 0
	in.mu.Unlock()
	if in.timerWhy == timerRegister || in.timerWhy == timerExit {
		in.stopTimer()
	}
	return p
}

func (in *instance) recordExit(e Exit) {
	in.mu.Lock()
	in.st.LastExit = e
	in.st.Exits = append(in.st.Exits, e)
	if len(in.st.Exits) > maxExits {
		in.st.Exits = in.st.Exits[len(in.st.Exits)-maxExits:]
	}
	in.mu.Unlock()
}

// afterExit applies the restart policy to an ended run.
func (in *instance) afterExit(reason string, failed bool) {
	p := in.config()
	in.setState(StateExited, reason)
	if in.permanent {
		in.permanent = false
		in.setState(StateFailed, "permanent: "+reason)
		return
	}
	if p.Restart == registry.RestartNever || (p.Restart == registry.RestartOnFailure && !failed) {
		return
	}
	in.scheduleRestart()
}

func (in *instance) scheduleRestart() {
	agent := in.sup.cfg().Agent
	now := time.Now()
	if in.lastRun >= in.sup.opts.HealthyAfter {
		in.failures = 0
	}
	in.restarts = pruneBefore(in.restarts, now.Add(-agent.RestartWindow))
	if len(in.restarts) >= agent.RestartBurst {
		in.setState(StateFailed, fmt.Sprintf("restarted %d times within %s; start it again when fixed", len(in.restarts), agent.RestartWindow))
		return
	}
	in.restarts = append(in.restarts, now)
	delay := backoff(in.failures, in.sup.opts.BackoffBase, in.sup.opts.BackoffMax)
	in.failures++
	in.mu.Lock()
	in.st.Restarts++
	in.st.NextStart = now.Add(delay)
	in.mu.Unlock()
	in.setTimer(timerBackoff, delay)
	in.setState(StateBackoff, fmt.Sprintf("restart %d in %s", len(in.restarts), delay.Round(time.Millisecond)))
}

func (in *instance) onTimer() {
	why := in.timerWhy
	in.timer, in.timerWhy = nil, timerNone
	switch why {
	case timerBackoff:
		in.launch("backoff elapsed")
	case timerRegister:
		if in.proc != nil {
			in.exitWhy = fmt.Sprintf("did not register within %s", in.config().StartTimeout)
			_ = killGroup(in.proc.pgid, syscall.SIGKILL)
		}
	case timerExit:
		if in.proc != nil {
			in.exitWhy = in.exitNote + "; still running, killed"
			_ = killGroup(in.proc.pgid, syscall.SIGKILL)
		}
	}
}

// terminate stops the current process, politely first: shutdown message,
// grace period, SIGTERM to the group, then SIGKILL.
func (in *instance) terminate(reason string) {
	if in.proc == nil {
		return
	}
	grace := in.sup.cfg().Agent.StopGrace
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
		_ = killGroup(p.pgid, syscall.SIGTERM)
		if !waitFor(p.exited, in.sup.opts.TermGrace) {
			_ = killGroup(p.pgid, syscall.SIGKILL)
			<-p.exited
		}
	}
	in.reap()
	in.recordExit(p.exit(in.exitWhy))
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

// status is the instance as Snapshot shows it.
func (in *instance) status(now time.Time) PluginStatus {
	in.mu.Lock()
	st := in.st
	st.Exits = append([]Exit(nil), in.st.Exits...)
	st.Counters = in.totals
	s := in.sess
	in.mu.Unlock()
	if s != nil {
		st.Counters = s.counters(st.Counters)
		if hb := s.lastHB.Load(); hb > 0 { // zero until the first pong
			st.LastHeartbeat = time.Unix(0, hb)
			st.HeartbeatRTT = time.Duration(s.hbRTT.Load())
		}
		st.InFlight = s.inFlight()
	}
	st.RTTp50, st.RTTp99 = in.rtts.percentiles()
	return st
}

// do sends a command to the run loop and waits for its reply. A cancelled
// ctx abandons the wait; a command already taken goes on.
func (in *instance) do(ctx context.Context, op op, reason string, p *registry.Plugin) error {
	reply := make(chan error, 1)
	select {
	case in.cmds <- command{op: op, reason: reason, plugin: p, reply: reply}:
	case <-in.quit:
		return in.gone()
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", in.id, ctx.Err())
	}
	select {
	case err := <-reply:
		return err
	case <-in.quit:
		return in.gone()
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", in.id, ctx.Err())
	}
}

// offer hands a connection that claims to be this instance to the run loop.
func (in *instance) offer(j joinReq, timeout time.Duration) *protocol.Reject {
	j.reply = make(chan *protocol.Reject, 1)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case in.joins <- j:
		return <-j.reply
	case <-in.quit:
	case <-t.C:
	}
	return &protocol.Reject{Code: protocol.RejectCredentials, Reason: fmt.Sprintf("instance %s is not accepting registrations now", in.id), Versions: protocol.Versions()}
}

// gone says why an instance whose loop has ended cannot act.
func (in *instance) gone() error {
	if in.sup.closing.Load() {
		return fmt.Errorf("%s: %w", in.id, ErrClosed)
	}
	return fmt.Errorf("%s: %w", in.id, ErrRemoved)
}
