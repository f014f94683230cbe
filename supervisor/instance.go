package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/plugvisor/plugvisor/registry"
)

// logRingLines is how many recent output lines each instance keeps in memory.
const logRingLines = 1000

// instance is one enrolled copy of a plugin. A single goroutine (run) owns its
// lifecycle; everything else asks it through channels, so state transitions
// never race. mu guards only what Snapshot reads.
type instance struct {
	env   *instanceEnv
	id    string
	name  string       // the plugin's name; an instance never changes plugin
	alone [1]*instance // this instance, as resolve returns it for its id without allocating per task
	log   *slog.Logger
	cmds  chan command
	joins chan joinReq
	quit  chan struct{} // closed when run returns

	logs   *logRing
	rtts   *rttRing
	stdout *rotatingFile
	stderr *rotatingFile
	// captures counts the goroutines copying a process's output into
	// stdout and stderr: the files are closed only once they are done.
	captures sync.WaitGroup

	mu     sync.Mutex
	plugin *registry.Plugin
	st     PluginStatus
	proc   *process
	sess   *session
	home   *home    // where its processes are born; owned by run
	totals Counters // traffic of ended sessions

	// Owned by run.
	timer     *time.Timer
	timerWhy  timerKind
	lastRun   time.Duration // how long the last process ran, for the backoff reset
	exitWhy   string        // why the supervisor is ending the current process (counts as a failure)
	exitNote  string        // what the plugin said on leaving (does not)
	noGoodbye bool          // its connection closed without goodbye: a crash
	permanent bool          // the current failure must not be retried
	// startAfterExit is an operator's start that came while the process was
	// still stopping: its reason, launched once the process has exited, and
	// its callers, who wait for that launch.
	startAfterExit string
	deferred       []chan error
	failures       int // consecutive failed runs, for backoff
	restarts       []time.Time
	waiters        []chan error // Start/Restart callers waiting for the outcome
}

type timerKind int

const (
	timerNone     timerKind = iota
	timerRegister           // the process must register before it fires
	timerBackoff            // the next start is due
	timerExit               // a process whose session ended must be gone by then, or get SIGTERM
	timerKill               // a process that had SIGTERM must be gone by then, or get SIGKILL
)

// op is what an operator or a reload asks of an instance.
type op int

const (
	opStart op = iota
	opStop
	opRestart
	opReplace // the configuration changed what the process runs
	opRemove  // the configuration no longer has the instance
	// opReauthorise: a reload changed the trust; a process it no longer
	// authorises is stopped (see reauthorise).
	opReauthorise
)

type command struct {
	op     op
	plugin *registry.Plugin
	reason string
	reply  chan error
}

func newInstance(env *instanceEnv, p *registry.Plugin, id string) (*instance, error) {
	in := &instance{
		env: env, id: id, name: p.Name, plugin: p,
		log:  env.log.With("plugin", p.Name, "instance", id),
		cmds: make(chan command), joins: make(chan joinReq), quit: make(chan struct{}),
		rtts: &rttRing{},
	}
	in.alone[0] = in
	agent := env.settings()
	in.logs = newLogRing(logRingLines, int64(agent.LogMemory))
	dir, err := prepareDir(agent.WorkDir, "plugin", p.Name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	logs, err := prepareDir(agent.WorkDir, "log", p.Name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	in.stdout = newRotating(logs, id+".stdout.log", int64(agent.LogMaxSize), agent.LogBackups, in.log)
	in.stderr = newRotating(logs, id+".stderr.log", int64(agent.LogMaxSize), agent.LogBackups, in.log)
	in.st = PluginStatus{
		Name: p.Name, Instance: id, State: StateStopped, Reason: "not started", Since: time.Now(),
		WorkDir: dir, StdoutLog: in.stdout.path(), StderrLog: in.stderr.path(),
	}
	in.describe(p)
	return in, nil
}

// describe copies the configuration into the status.
func (in *instance) describe(p *registry.Plugin) {
	in.mu.Lock()
	in.plugin = p
	in.st.Version, in.st.Exec, in.st.Args = p.Version, p.Exec, p.Args
	if p.SHA256 != "" {
		// Otherwise the signature authorises the run, and the status keeps
		// the digest computed when the copy was made (see verify).
		in.st.SHA256 = p.SHA256
	}
	in.st.Restart, in.st.Instances = string(p.Restart), max(p.Instances, 1)
	in.st.EnvKeys = slices.Sorted(maps.Keys(p.Env))
	in.mu.Unlock()
}

func (in *instance) config() *registry.Plugin {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.plugin
}

// captureDrain bounds how long closing waits for the last output of a
// process to be copied: the process group is gone by then, so its pipes
// end with what is still buffered in them.
const captureDrain = 2 * time.Second

// closeLogs closes the log files once the output still in the pipes is in
// them. Closed earlier, the last lines a stopping plugin wrote were
// published as log events but lost to its files (counted as dropped
// writes).
func (in *instance) closeLogs() {
	done := make(chan struct{})
	go func() { in.captures.Wait(); close(done) }()
	t := time.NewTimer(captureDrain)
	select {
	case <-done:
	case <-t.C:
		in.log.Warn("plugin output still being copied when its log files closed", "waited", captureDrain)
	}
	t.Stop()
	in.stdout.Close()
	in.stderr.Close()
}

// run is the instance's lifecycle loop.
func (in *instance) run(ctx context.Context) {
	defer close(in.quit)
	defer in.closeHome()
	defer in.closeLogs()
	for {
		select {
		case <-ctx.Done():
			in.undefer()
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
	if c.op != opStart && c.op != opReauthorise {
		// A reauthorise leaves a process it still authorises, and a start
		// waiting for that process to exit, alone.
		in.undefer()
	}
	switch c.op {
	case opStart:
		in.failures, in.restarts = 0, nil
		switch in.state() {
		case StateRunning:
			c.reply <- nil
		case StateStarting: // already on its way: answer with its outcome
			in.waiters = append(in.waiters, c.reply)
		default:
			if in.proc != nil {
				// Still stopping: the new process starts once the old one
				// has exited, never beside it, and the caller hears how
				// the new one did.
				in.startAfterExit = c.reason
				in.deferred = append(in.deferred, c.reply)
				break
			}
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
	case opReauthorise:
		in.reauthorise(c.plugin, c.reason)
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
	var exit *Exit
	if s == StateExited && !in.st.LastExit.Time.IsZero() {
		exit = new(in.st.LastExit)
	}
	in.mu.Unlock()
	lvl := slog.LevelInfo
	if s == StateFailed || s == StateExited {
		lvl = slog.LevelWarn
	}
	in.log.Log(context.Background(), lvl, "state", "from", string(prev), "to", string(s), "reason", reason)
	in.env.bus.publish(Event{Type: EventState, Plugin: in.name, Instance: in.id, State: s, Prev: prev, Reason: reason, Exit: exit})
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
	st.LogWritesDropped = in.stdout.dropped.Load() + in.stderr.dropped.Load()
	return st
}

// setRates records what the sampler measured. It is the sampler's one way
// in: the rates are the only part of the status the instance does not keep.
func (in *instance) setRates(r rates) {
	in.mu.Lock()
	in.st.CPUPercent, in.st.RSS, in.st.RecordsPerSec = r.cpuPercent, r.rss, r.recordsPerSec
	in.mu.Unlock()
}

// group is the process group of the current process (0 if none).
func (in *instance) group() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.st.PGID
}

// live returns the session that can take a task now, or says why there is
// none.
func (in *instance) live() (*session, string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.sess != nil {
		return in.sess, ""
	}
	return nil, fmt.Sprintf("%s is %s (%s)", in.id, in.st.State, in.st.Reason)
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

// gone says why an instance whose loop has ended cannot act.
func (in *instance) gone() error {
	if in.env.closing.Load() {
		return fmt.Errorf("%s: %w", in.id, ErrClosed)
	}
	return fmt.Errorf("%s: %w", in.id, ErrRemoved)
}
