// Package chaos is a plugin that misbehaves on request, by flag or by task, for testing the supervisor.
//
// Flags:
//
//	--exit-code N      exit code of a crash by os.Exit (default 1)
//	--crash MODE       how a crash happens: "exit" (os.Exit(--exit-code)) or
//	                   "panic" (an unrecovered panic: Go exits with 2)
//	--crash-after D    crash D after the session starts
//	--hang-after D     hang D after the session starts: the process sends
//	                   itself SIGSTOP, a real hang (no pongs, no reads) that
//	                   only SIGCONT or SIGKILL ends
//	--flood-rate N     emit N {data_type: flood, seq} records per second
//	--stderr-every D   write a line to stderr every D
//	--log              say on stderr when it will crash, and when it does
//	--ignore-term      ignore SIGTERM; after a Shutdown message say goodbye,
//	                   then linger until SIGKILL (tests kill escalation)
//	--spawn-child      start a grandchild "sleep" in the plugin's process
//	                   group and emit {data_type: child, pid} (tests group kills)
//
// Tasks (id: content → effect). Every task is answered before its effect, and
// the answer is flushed, so the caller sees it even when the process dies:
//
//	1 crash   ""|"exit": os.Exit(--exit-code); "panic": unrecovered panic
//	2 hang    SIGSTOP to itself
//	3 flood   N: emit N {data_type: flood, seq} records, then reply {count: N}
//	4 stderr  N (default 1): write N lines to stderr
//	5 exit    N: exit with code N
//	6 spawn   start a grandchild "sleep"; reply {pid}
//	7 fail    the handler returns an error whose text is the content
//	8 sleep   D: reply after D, or fail if shutdown comes first
//	9 panic   the handler panics (the SDK recovers and replies task_error)
//	10 hold   D: a progress record {action: holding} at once, then as sleep:
//	          the record proves the plugin has the task
//	11 bulk   N:SIZE: N progress records of SIZE bytes each, then reply {count: N}
//	12 escape start a child with setsid that leaves two sleeping grandchildren
//	          in a session of their own; reply {pids: "P1,P2"}
//	13 hog    M: allocate and touch M MiB per step, forever, with a progress
//	          record {mib} per step: only a memory limit ends it
//	14 forks  N: start up to N sleeping children, end them; reply {started, error}
//	15 spin   N[:D]: keep N goroutines busy for D (default an hour) or until
//	          the task is cancelled; a progress record {action: spinning} first
//	16 read   PATH: read the file; reply {bytes} or fail with the error
//	17 who    reply {uid, gid, groups}
package chaos

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/plugvisor/plugvisor/examples/internal/plainlog"
	"github.com/plugvisor/plugvisor/sdk"
)

// Task ids.
const (
	TaskCrash uint32 = iota + 1
	TaskHang
	TaskFlood
	TaskStderr
	TaskExit
	TaskSpawn
	TaskFail
	TaskSleep
	TaskPanic
	TaskHold
	TaskBulk
	TaskEscape
	TaskHog
	TaskForks
	TaskSpin
	TaskRead
	TaskWho
)

// Chaos is the plugin's configuration.
type Chaos struct {
	ExitCode    int
	Crash       string // "exit" or "panic"
	CrashAfter  time.Duration
	HangAfter   time.Duration
	FloodRate   int
	StderrEvery time.Duration
	IgnoreTerm  bool
	SpawnChild  bool
	Log         bool

	stderr io.Writer
}

// Main runs the plugin with the flags above.
func Main(args []string) error {
	c, err := parse(args)
	if err != nil {
		return err
	}
	opts := []sdk.Option{}
	if c.IgnoreTerm {
		signal.Ignore(syscall.SIGTERM)
		opts = append(opts, sdk.WithSignals(os.Interrupt))
	}
	err = sdk.Run(context.Background(), c, opts...)
	if c.IgnoreTerm {
		fmt.Fprintf(c.stderr, "chaos: session over (%v); --ignore-term: lingering until killed\n", err)
		for {
			time.Sleep(time.Hour)
		}
	}
	return err
}

func parse(args []string) (*Chaos, error) {
	c := &Chaos{stderr: os.Stderr}
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.IntVar(&c.ExitCode, "exit-code", 1, "exit code of a crash by os.Exit")
	fs.StringVar(&c.Crash, "crash", "exit", `how to crash: "exit" or "panic"`)
	fs.DurationVar(&c.CrashAfter, "crash-after", 0, "crash this long after the session starts")
	fs.DurationVar(&c.HangAfter, "hang-after", 0, "SIGSTOP itself this long after the session starts")
	fs.IntVar(&c.FloodRate, "flood-rate", 0, "flood records per second")
	fs.DurationVar(&c.StderrEvery, "stderr-every", 0, "write a line to stderr this often")
	fs.BoolVar(&c.IgnoreTerm, "ignore-term", false, "ignore SIGTERM and linger after shutdown")
	fs.BoolVar(&c.SpawnChild, "spawn-child", false, "start a sleeping grandchild")
	fs.BoolVar(&c.Log, "log", false, "say when it will crash, and when it does")
	if err := sdk.ParseArgs(fs, args); err != nil {
		return nil, err
	}
	if c.Crash != "exit" && c.Crash != "panic" {
		return nil, &sdk.UsageError{Err: fmt.Errorf(`--crash must be "exit" or "panic", not %q`, c.Crash)}
	}
	return c, nil
}

// Info implements sdk.Plugin.
func (c *Chaos) Info() sdk.Info { return sdk.Info{Name: "chaos"} }

// Run implements sdk.Plugin: it starts the flag-driven misbehaviour and waits
// for shutdown.
func (c *Chaos) Run(sink sdk.Sink, s *sdk.Session) error {
	if c.SpawnChild {
		if err := c.spawn(sink, nil); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	loop := func(enabled bool, fn func()) {
		if enabled {
			wg.Go(fn)
		}
	}
	loop(c.CrashAfter > 0, func() {
		c.say("up; crashing on purpose to show restarts and backoff", "in", c.CrashAfter.String(), "how", c.Crash, "exit_code", c.ExitCode)
		if s.Sleep(c.CrashAfter) {
			c.say("crashing now; the supervisor restarts it after a backoff", "how", c.Crash, "exit_code", c.ExitCode)
			c.crash(sink, c.Crash, c.ExitCode)
		}
	})
	loop(c.HangAfter > 0, func() {
		if s.Sleep(c.HangAfter) {
			hang(sink)
		}
	})
	loop(c.FloodRate > 0, func() { c.flood(sink, s) })
	loop(c.StderrEvery > 0, func() { c.writeStderr(s) })
	s.Wait()
	wg.Wait()
	return nil
}

// say logs msg on stderr with --log, without a time (the supervisor
// stamps each line).
func (c *Chaos) say(msg string, args ...any) {
	if !c.Log {
		return
	}
	plainlog.New(c.stderr).Info(msg, args...)
}

// flood emits FloodRate records a second in 10 ms steps, carrying fractions.
func (c *Chaos) flood(sink sdk.Sink, s *sdk.Session) {
	const step = 10 * time.Millisecond
	tick := time.NewTicker(step)
	defer tick.Stop()
	perStep, owed, seq := float64(c.FloodRate)*step.Seconds(), 0.0, 0
	for {
		select {
		case <-tick.C:
		case <-s.Done():
			return
		}
		for owed += perStep; owed >= 1; owed-- {
			seq++
			if sink.Emit(sdk.Fields{"data_type": "flood", "seq": strconv.Itoa(seq)}) != nil {
				return
			}
		}
	}
}

func (c *Chaos) writeStderr(s *sdk.Session) {
	for n := 1; s.Sleep(c.StderrEvery); n++ {
		fmt.Fprintf(c.stderr, "chaos: stderr line %d\n", n)
	}
}

// RegisterTasks implements sdk.TaskHandlers.
func (c *Chaos) RegisterTasks(r *sdk.Router) {
	r.Handle(TaskCrash, func(ctx context.Context, t sdk.Task, s sdk.Sink) error {
		mode := cmp.Or(t.Content, "exit")
		if mode != "exit" && mode != "panic" {
			return fmt.Errorf(`crash: content must be "exit", "panic" or empty, not %q`, t.Content)
		}
		if err := ack(ctx, t, s, sdk.Fields{"action": "crash", "mode": mode}); err != nil {
			return err
		}
		c.crash(s, mode, c.ExitCode)
		return nil
	})
	r.Handle(TaskHang, func(ctx context.Context, t sdk.Task, s sdk.Sink) error {
		if err := ack(ctx, t, s, sdk.Fields{"action": "hang"}); err != nil {
			return err
		}
		hang(s)
		return nil
	})
	r.Handle(TaskFlood, c.floodTask)
	r.Handle(TaskStderr, c.stderrTask)
	r.Handle(TaskExit, c.exitTask)
	r.Handle(TaskSpawn, func(_ context.Context, t sdk.Task, s sdk.Sink) error { return c.spawn(s, &t) })
	r.Handle(TaskFail, func(_ context.Context, t sdk.Task, _ sdk.Sink) error { return errors.New(t.Content) })
	r.Handle(TaskSleep, sleepTask)
	r.Handle(TaskBulk, bulkTask)
	r.Handle(TaskHold, func(ctx context.Context, t sdk.Task, s sdk.Sink) error {
		if err := s.Progress(t, sdk.Fields{"data_type": "chaos", "action": "holding"}); err != nil {
			return err
		}
		return sleepTask(ctx, t, s)
	})
	r.Handle(TaskPanic, func(context.Context, sdk.Task, sdk.Sink) error { panic("chaos: handler panic on request") })
	r.Handle(TaskEscape, escapeTask)
	r.Handle(TaskHog, hogTask)
	r.Handle(TaskForks, forksTask)
	r.Handle(TaskSpin, spinTask)
	r.Handle(TaskRead, readTask)
	r.Handle(TaskWho, whoTask)
}

// ack replies and waits until the reply has left, so that an effect which
// kills or stops the process cannot swallow it.
func ack(ctx context.Context, t sdk.Task, s sdk.Sink, fields sdk.Fields) error {
	fields["data_type"] = "chaos"
	if err := s.Reply(t, fields); err != nil {
		return err
	}
	return s.Flush(ctx)
}

func (c *Chaos) floodTask(ctx context.Context, t sdk.Task, s sdk.Sink) error {
	n, err := strconv.Atoi(t.Content)
	if err != nil || n < 0 {
		return fmt.Errorf("flood: content must be a record count, not %q", t.Content)
	}
	for i := 1; i <= n; i++ {
		if err := s.Emit(sdk.Fields{"data_type": "flood", "seq": strconv.Itoa(i), "task": t.Token}); err != nil {
			return err
		}
	}
	return s.Reply(t, sdk.Fields{"data_type": "chaos", "action": "flood", "count": strconv.Itoa(n)})
}

func (c *Chaos) stderrTask(_ context.Context, t sdk.Task, s sdk.Sink) error {
	n := 1
	if t.Content != "" {
		var err error
		if n, err = strconv.Atoi(t.Content); err != nil || n < 0 {
			return fmt.Errorf("stderr: content must be a line count, not %q", t.Content)
		}
	}
	for i := 1; i <= n; i++ {
		fmt.Fprintf(c.stderr, "chaos: stderr task %s line %d\n", t.Token, i)
	}
	return s.Reply(t, sdk.Fields{"data_type": "chaos", "action": "stderr", "count": strconv.Itoa(n)})
}

func (c *Chaos) exitTask(ctx context.Context, t sdk.Task, s sdk.Sink) error {
	code, err := strconv.Atoi(t.Content)
	if err != nil || code < 0 || code > 255 {
		return fmt.Errorf("exit: content must be an exit code 0-255, not %q", t.Content)
	}
	if err := ack(ctx, t, s, sdk.Fields{"action": "exit", "code": t.Content}); err != nil {
		return err
	}
	os.Exit(code)
	return nil
}

// bulkTask streams N progress records of SIZE bytes for one task: what a
// plugin answering with megabytes would send.
func bulkTask(ctx context.Context, t sdk.Task, s sdk.Sink) error {
	ns, sizes, _ := strings.Cut(t.Content, ":")
	n, err := strconv.Atoi(ns)
	if err != nil {
		return fmt.Errorf("bulk: count %q: %w", ns, err)
	}
	size, err := strconv.Atoi(sizes)
	if err != nil {
		return fmt.Errorf("bulk: size %q: %w", sizes, err)
	}
	blob := strings.Repeat("b", size)
	for i := range n {
		if err := s.Progress(t, sdk.Fields{"data_type": "bulk", "seq": strconv.Itoa(i), "blob": blob}); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return s.Reply(t, sdk.Fields{"data_type": "chaos", "action": "bulk", "count": ns})
}

func sleepTask(ctx context.Context, t sdk.Task, s sdk.Sink) error {
	d, err := time.ParseDuration(t.Content)
	if err != nil {
		return fmt.Errorf("sleep: %w", err)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return s.Reply(t, sdk.Fields{"data_type": "chaos", "action": "sleep", "slept": d.String()})
	case <-ctx.Done():
		return fmt.Errorf("sleep: interrupted: %w", ctx.Err())
	}
}

// crash flushes what was emitted, then dies. A panic is raised on a fresh
// goroutine because the SDK recovers panics in Run and in task handlers.
func (c *Chaos) crash(sink sdk.Sink, mode string, code int) {
	flush(sink)
	if mode == "panic" {
		go panic("chaos: crash on request")
		select {} // the panic ends the process
	}
	os.Exit(code)
}

// hang stops the whole process: every thread, so no pong, no read, no write.
func hang(sink sdk.Sink) {
	flush(sink)
	_ = syscall.Kill(os.Getpid(), syscall.SIGSTOP)
}

func flush(sink sdk.Sink) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = sink.Flush(ctx) // best effort: the process is about to die anyway
}

// spawn starts a grandchild that sleeps, in this process's group, and
// reports its pid as a record (t nil) or as t's reply.
func (c *Chaos) spawn(sink sdk.Sink, t *sdk.Task) error {
	path, err := exec.LookPath("sleep")
	if err != nil {
		return fmt.Errorf("spawn child: %w", err)
	}
	cmd := exec.Command(path, "1000000") // stdio on /dev/null: no pipe is held open
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("spawn child: %w", err)
	}
	go func() { _ = cmd.Wait() }() // reap it if it ends while we live
	fields := sdk.Fields{"data_type": "child", "pid": strconv.Itoa(cmd.Process.Pid)}
	if t != nil {
		return sink.Reply(*t, fields)
	}
	return sink.Emit(fields)
}
