package sdk

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
)

// Main runs p and exits the process with ExitCode of the result: the usual
// body of a plugin's func main.
func Main(p Plugin, opts ...Option) { Exit(Run(context.Background(), p, opts...)) }

// Exit ends the process with ExitCode(err), printing err to stderr unless it
// means success. Use it in func main around a plugin's own Main.
func Exit(err error) {
	code := ExitCode(err)
	if code != ExitOK {
		fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(os.Args[0]), err)
	}
	os.Exit(code)
}

// Run runs p for one session and returns when it is over.
//
// With PLUGVISOR_SOCKET set it connects to the supervisor, says hello, and
// serves until p.Run returns, the supervisor asks for shutdown, one of the
// signals arrives (SIGINT and SIGTERM by default) or ctx is cancelled; it then
// flushes queued records and says goodbye within the grace period.
//
// The grace is the one the supervisor's shutdown message gives, taken
// literally (0: leave at once, without waiting for Run; a best-effort flush
// and goodbye), else WithGrace's. Within the first three quarters of it Run
// and the task handlers in flight may finish: Emit is refused from the start
// of shutdown, but a task's Progress and Reply (and the SDK's own final
// reply) are still sent. Tasks still waiting for a handler slot are answered
// with an error. By nine tenths of the grace the flush ends, written or not.
// Once shutdown has begun the signals are let go, so a second SIGINT or
// SIGTERM ends the process at once.
//
// Without PLUGVISOR_SOCKET (a person ran the binary) it runs standalone, on
// the same code path: it says so in one line on stderr, writes every record
// to stdout as one JSON line mirroring the wire record (token omitted when
// empty, fields sorted by key):
//
//	{"timestamp":1767225600000000000,"token":"stdin-1","fields":{"content":"hi","data_type":"echo","task_status":"ok"}}
//
// and reads tasks from stdin, one JSON object per line; the token defaults
// to "stdin-<line number>":
//
//	{"id":1,"content":"hi"}
//	{"id":1,"content":"hi","token":"mine"}
//
// A malformed line, or one over 4 MiB, is reported on stderr with its line
// number and skipped.
// End of stdin stops reading tasks, not the plugin: it runs until its Run
// returns or a signal arrives, so `plugin </dev/null` still runs.
//
// Run connects once and never reconnects: the supervisor restarts plugin
// processes, and a plugin that reconnected on its own would hide a failure
// the supervisor must see.
//
// The result is nil after a clean finish or shutdown, *RejectedError,
// *ConnLostError, *PanicError, *UsageError, or p.Run's own error. If p.Run has
// not returned within the grace period Run returns anyway; its goroutine is
// left behind (Main then exits the process).
func Run(ctx context.Context, p Plugin, opts ...Option) error {
	o := newOptions(opts)
	if in, ok := p.(Initer); ok {
		if err := in.Init(); err != nil {
			return initError(err)
		}
	}
	info := p.Info()
	name := cmp.Or(o.env.Plugin, info.Name, filepath.Base(os.Args[0]))
	var router Router
	if th, ok := p.(TaskHandlers); ok {
		th.RegisterTasks(&router)
	}
	sess := newSession(ctx, name, o.env.Instance)
	if o.env.Standalone() {
		return runStandalone(ctx, p, sess, router, o)
	}
	// Only a process the supervisor started renames itself; a test running
	// a plugin in-process with WithEnv keeps its own name.
	if os.Getenv(protocol.EnvPlugin) == o.env.Plugin && o.env.Plugin != "" {
		nameProcess(name)
	}
	return runSupervised(ctx, p, sess, router, cmp.Or(info.Version, buildVersion()), o)
}

func initError(err error) error {
	var usage *UsageError
	if errors.As(err, &usage) || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("init: %w", err)
}

// transport is the part of a session that differs between supervised and
// standalone mode: where batches go and where tasks come from.
type transport interface {
	start(r *runner)                            // begin receiving
	write(batch []protocol.EncodedRecord) error // one frame's worth of records, one writer at a time
	direct() bool                               // a sender may write its record itself (queue.send)
	bound(deadline time.Time)                   // writes after deadline fail: the flush must end
	abort()                                     // the connection is gone: unblock everything now
	finish(goodbye string, sayIt bool)          // after the flush: say goodbye, close, wait
	lostError(err error) error                  // how a failed transport is reported
}

// ending is why a session ends.
type ending struct {
	reason string // for the goodbye
	grace  time.Duration
	byRun  bool // the plugin's Run returned first
}

type runner struct {
	p     Plugin
	o     options
	log   *slog.Logger
	sess  *Session
	q     *queue
	sink  Sink
	tasks *dispatcher
	tr    transport

	sigs chan os.Signal // the signals that begin shutdown; released once it has begun

	endOnce sync.Once
	ended   chan struct{}
	end     ending // written once, before ended closes

	lostMu sync.Mutex
	lost   error
}

func newRunner(p Plugin, o options, sess *Session, router Router, maxFrame int, tr transport) *runner {
	q := newQueue(o.queueSize, o.queueBytes, maxFrame)
	sink := Sink{q: q}
	r := &runner{
		p: p, o: o, log: o.log, sess: sess, q: q, sink: sink, tr: tr,
		tasks: newDispatcher(sess.ctx, router, sink, o.log, o.maxInFlight),
		sigs:  make(chan os.Signal, 1),
		ended: make(chan struct{}),
	}
	if tr.direct() {
		q.out = r.writeBatch
	}
	return r
}

func (r *runner) run(ctx context.Context) error {
	unwatch := r.watch(ctx)
	defer unwatch()
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		r.writeLoop()
	}()
	r.tr.start(r)
	runDone := make(chan error, 1)
	go func() { runDone <- r.callRun() }()
	select {
	case err := <-runDone:
		r.stop(ending{reason: runReason(err), grace: r.o.grace, byRun: true})
		return r.shutdown(writerDone, nil, err)
	case <-r.ended:
		return r.shutdown(writerDone, runDone, nil)
	}
}

// minFlush is the least time given to the final flush and goodbye, even
// when the grace is 0 ("leave now"): a best-effort write, not a wait.
const minFlush = 100 * time.Millisecond

// shutdown ends the session within the grace period: it waits for Run
// (unless runDone is nil: Run has returned runErr) and the task handlers,
// whose replies are still queued until then, flushes the queue, and says
// goodbye if the connection still works.
func (r *runner) shutdown(writerDone <-chan struct{}, runDone <-chan error, runErr error) error {
	end, begun := r.end, time.Now()
	r.begin(end)
	runDeadline := begun.Add(end.grace * 3 / 4)
	flushDeadline := begun.Add(max(end.grace*9/10, minFlush))
	returned := runDone == nil
	if !returned {
		runErr, returned = waitRun(runDone, runDeadline)
	}
	r.waitTasks(runDeadline)
	// The handlers' time is up: nothing more is queued, the writer sends
	// what is and stops.
	r.q.close()
	r.tr.bound(flushDeadline)
	if !waitDone(writerDone, flushDeadline) {
		// Standalone, a stalled stdout (a paused pager) cannot be
		// interrupted: give up on it rather than hang.
		r.lose(fmt.Errorf("output stalled: queued records not written within %v of shutdown", flushDeadline.Sub(begun).Round(time.Millisecond)))
	}
	goodbye, err := r.result(end, runErr, returned)
	r.tr.finish(goodbye, r.lostErr() == nil)
	r.log.Info("session ended", "reason", goodbye)
	return err
}

func (r *runner) callRun() (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return r.p.Run(r.sink, r.sess)
}

func runReason(err error) string {
	if err == nil {
		return "finished"
	}
	return err.Error()
}

// watch turns signals and ctx into the start of shutdown. Once shutdown has
// begun the signals are released (see begin), so a second one gets its
// default action and ends the process at once.
func (r *runner) watch(ctx context.Context) (unwatch func()) {
	if len(r.o.signals) > 0 {
		signal.Notify(r.sigs, r.o.signals...)
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		select {
		case sig := <-r.sigs:
			r.stop(ending{reason: "signal: " + sig.String(), grace: r.o.grace})
		case <-ctx.Done():
			r.stop(ending{reason: "context: " + context.Cause(ctx).Error(), grace: r.o.grace})
		case <-quit:
		}
	}()
	return func() {
		signal.Stop(r.sigs)
		close(quit)
		<-done
	}
}

// stop records the first reason to end; later ones are ignored. A grace of
// 0 is taken literally: the supervisor's "leave now".
func (r *runner) stop(e ending) {
	r.endOnce.Do(func() {
		r.end = e
		close(r.ended)
	})
}

// lose ends the session because the transport failed: nothing more can be
// sent, so queued records are dropped and no goodbye will be attempted.
func (r *runner) lose(err error) {
	r.lostMu.Lock()
	first := r.lost == nil
	if first {
		r.lost = err
	}
	r.lostMu.Unlock()
	if !first {
		return
	}
	r.q.fail(err)
	r.tr.abort()
	r.stop(ending{reason: "connection lost", grace: r.o.grace})
}

func (r *runner) lostErr() error {
	r.lostMu.Lock()
	defer r.lostMu.Unlock()
	return r.lost
}

// begin starts shutdown: a second signal is left to its default action, the
// sink refuses new records except task replies, new tasks are refused, and
// then the plugin's context is cancelled, so code woken by it already sees
// Emit refused and no waiting task started.
func (r *runner) begin(end ending) {
	signal.Stop(r.sigs)
	r.log.Info("shutting down", "reason", end.reason, "grace", end.grace)
	r.q.refusePlain()
	r.tasks.close()
	r.sess.cancel()
}

func waitRun(runDone <-chan error, deadline time.Time) (error, bool) {
	select {
	case err := <-runDone: // a grace of 0 still takes a Run that has returned
		return err, true
	default:
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case err := <-runDone:
		return err, true
	case <-t.C:
		return nil, false
	}
}

func (r *runner) waitTasks(deadline time.Time) {
	if !waitDone(r.tasks.idle, deadline) {
		r.log.Warn("task handlers still running at shutdown")
	}
}

// waitDone reports whether done closed by deadline.
func waitDone(done <-chan struct{}, deadline time.Time) bool {
	select {
	case <-done:
		return true
	default:
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// writeLoop sends what is queued; a record sent while the connection is
// free goes out directly (queue.send) and never reaches it.
func (r *runner) writeLoop() {
	var batch []protocol.EncodedRecord
	for {
		batch = r.q.next(batch[:0])
		if len(batch) == 0 {
			return
		}
		err := r.writeBatch(batch)
		clear(batch)
		if err != nil {
			r.q.wrote(0)
			return
		}
		r.q.wrote(len(batch))
	}
}

// writeBatch writes one frame, from the writer or directly from a sender;
// a failure loses the session.
func (r *runner) writeBatch(batch []protocol.EncodedRecord) error {
	err := r.tr.write(batch)
	if err != nil {
		r.lose(err)
	}
	return err
}

// result is the goodbye reason and Run's return value.
func (r *runner) result(end ending, runErr error, returned bool) (string, error) {
	var panicked *PanicError
	if errors.As(runErr, &panicked) {
		r.log.Error("plugin panicked", "panic", panicked.Value, "stack", string(panicked.Stack))
		return panicked.Error(), runErr
	}
	if lost := r.lostErr(); lost != nil {
		return end.reason, r.tr.lostError(lost)
	}
	switch {
	case !returned && end.grace == 0:
		// "Leave now": not waiting for Run is what was asked.
		return end.reason, nil
	case !returned:
		err := fmt.Errorf("run did not return within %v of shutdown (%s)", end.grace*3/4, end.reason)
		return end.reason + "; run did not return in time", err
	case end.byRun:
		return end.reason, runErr
	case cleanStop(runErr):
		return end.reason, nil
	}
	return runErr.Error(), runErr
}

// cleanStop reports whether Run's error just echoes the shutdown it was told of.
func cleanStop(err error) bool {
	return err == nil || errors.Is(err, context.Canceled) || errors.Is(err, ErrShutdown)
}
