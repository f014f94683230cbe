package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plugvisor/plugvisor/control"
	"github.com/plugvisor/plugvisor/ctl"
	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/headless"
	"github.com/plugvisor/plugvisor/internal/lossy"
	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/script"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/tui"
)

type runFlags struct {
	config, logFormat, logLevel, dataOut, theme, script string
	noTUI                                               bool
}

func parseRunFlags(args []string) (runFlags, error) {
	var f runFlags
	fs := flag.NewFlagSet("plugvisor", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	fs.StringVar(&f.config, "config", "", "config file (default: $PLUGVISOR_CONFIG, then $XDG_CONFIG_HOME/plugvisor/config.toml; none: the embedded demo)")
	fs.BoolVar(&f.noTUI, "no-tui", false, "run headless: events as logs on stderr, records as JSON lines")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&f.dataOut, "data-out", "", "headless: write records to this file instead of stdout")
	fs.StringVar(&f.theme, "theme", "", "console theme (default: the config's, else follow the terminal)")
	fs.StringVar(&f.script, "script", "", "run this script once the plugins are up; headless exits when it ends")
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return f, err
}

// runSupervisor runs the embedded engine with a console when there is a
// terminal, headless otherwise, and serves the control socket either way.
func runSupervisor(args []string) int {
	f, err := parseRunFlags(args)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "plugvisor:", err)
		}
		return exitUsage
	}
	console := !f.noTUI && isTerminal(os.Stdin) && isTerminal(os.Stdout)
	if !f.noTUI && !console {
		fmt.Fprintln(os.Stderr, "plugvisor: no terminal on stdin/stdout; running headless (as --no-tui)")
	}
	scr, err := parseScript(f.script)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitUsage
	}
	cfg, reload, cleanup, err := loadConfig(f.config)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitUsage
	}
	// Left early (a second ctrl+c mid-stop), the plugins still run in the
	// demo's work dir until the watchdog kills them: it is not removed then.
	var leftEarly bool
	defer func() {
		if !leftEarly {
			cleanup()
		}
	}()
	logOut, closeLog, err := logTarget(console, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugvisor:", err)
		return exitUsage
	}
	defer closeLog()
	log, err := newLogger(logOut, f.logFormat, f.logLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugvisor:", err)
		return exitUsage
	}
	self, _ := os.Executable()
	sup, err := supervisor.New(supervisorOptions(cfg, reload, log, self))
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugvisor:", err)
		return exitUsage
	}
	// What runs beside the engine logs through it, so it is in History too.
	e := engine{sup: sup, cfg: cfg, log: sup.Logger(), script: scr, stderr: os.Stderr, notice: make(chan tui.Notice, 1),
		leftEarly: &leftEarly}
	if console {
		return e.serve(e.console(cmp.Or(f.theme, cfg.Agent.Theme)), logWriter{e.log}, true, false)
	}
	data, closeData, err := openData(f.dataOut)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugvisor:", err)
		return exitUsage
	}
	defer closeData()
	// Headless, what plugvisor says on stderr (the script's lines, its
	// summary) goes the log's way, which never waits on a stderr nobody
	// reads.
	e.stderr = logOut
	return e.serve(e.headless(data), logOut, false, true)
}

// supervisorOptions are the engine's options for cfg; the demo's restart
// pacing keeps its crashing plugin cycling visibly.
func supervisorOptions(cfg *registry.Config, reload func() (*registry.Config, error), log *slog.Logger, self string) supervisor.Options {
	so := supervisor.Options{Config: cfg, Reload: reload, Logger: log, WatchdogExe: self}
	if registry.IsDemo(cfg) {
		so.BackoffMax, so.HealthyAfter = registry.DemoBackoffMax, registry.DemoHealthyAfter
	}
	return so
}

// engine is the embedded supervisor with what runs beside it: the control
// socket and an optional script.
type engine struct {
	sup    *supervisor.Supervisor
	cfg    *registry.Config
	log    *slog.Logger
	script *script.Script
	stderr io.Writer // for what is said at the end: the terminal, or headless the log's queue
	// notice carries what the console must say about the control socket
	// (none, another demo holds it…), then is closed.
	notice chan tui.Notice
	// leftEarly is set when plugvisor exits mid-stop: what the plugins use
	// must outlive it.
	leftEarly *bool
}

// A face is what the operator sees of the engine: the console or the
// headless daemon. It is attached before the engine starts, so a face that
// subscribes there (headless does) sees every event from the first; the
// console subscribes once it runs and catches up from a snapshot and the
// logs. run lasts until the operator or a signal is done, calling stop to
// stop every plugin and the engine, and returns once done is closed.
type face func(api supervisor.API) (run func(stop func(), done <-chan struct{}) error, err error)

// serve is the one way the engine runs, whatever the face: attach the face,
// start the engine, serve the control socket and run the script beside it,
// run the face, then stop everything. The script's lines go to scriptOut;
// echo says neither they nor the log were seen on the terminal (the console
// owned it), so the script's summary and a failure are printed again at the
// end; scriptStops says the engine ends with the script.
func (e engine) serve(f face, scriptOut io.Writer, echo, scriptStops bool) int {
	run, err := f(e.sup)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugvisor:", err)
		return exitFailure
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	side, err := e.startBeside(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugvisor:", err)
		return exitFailure
	}
	done := make(chan struct{})
	var runErr error
	go func() {
		runErr = e.sup.Run(ctx)
		close(done)
	}()
	served := e.serveControl(ctx)
	sided := side.serve(ctx, e)
	var stopWithScript context.CancelFunc
	if scriptStops {
		stopWithScript = cancel
	}
	scripted := e.runScript(ctx, stopWithScript, scriptOut, echo)
	faceErr := run(cancel, done)
	cancel() // the face may end first (a console killed by SIGTERM): stop the plugins anyway
	if errors.Is(faceErr, tui.ErrLeftEarly) {
		return e.leaveEarly()
	}
	<-done
	<-served
	<-sided
	side.close()
	if err := cmp.Or(runErr, faceErr); err != nil {
		e.log.Error("supervisor failed", "err", err)
		if echo {
			fmt.Fprintln(e.stderr, "plugvisor:", err)
		}
		return exitFailure
	}
	return scripted.report()
}

// headless writes the engine's events as logs and JSON lines.
func (e engine) headless(data io.Writer) face {
	return func(api supervisor.API) (func(func(), <-chan struct{}) error, error) {
		d, err := headless.Attach(api, headless.Options{
			Log: e.log, Data: data, Signals: true,
			OutputBuffer: int64(e.cfg.Agent.OutputBuffer), StopGrace: e.cfg.Agent.StopGrace,
		})
		if err != nil {
			return nil, err
		}
		return d.Run, nil
	}
}

// console runs the operations console on the terminal. With a console,
// SIGHUP means the terminal is gone, not "reload" (R does that): quit and
// stop the plugins rather than run on unseen.
func (e engine) console(theme string) face {
	return func(api supervisor.API) (func(func(), <-chan struct{}) error, error) {
		return func(stop func(), done <-chan struct{}) error {
			select { // an engine that cannot start is reported, not shown
			case <-e.sup.Ready():
			case <-done:
				return nil
			}
			hangup, stopHangup := signal.NotifyContext(context.Background(), syscall.SIGHUP)
			defer stopHangup()
			opts := tui.Options{Theme: theme, ThemeDir: themeDir(), KeepState: true, StopEngine: stop, EngineDone: done, Notice: e.notice}
			if registry.IsDemo(e.cfg) {
				opts.Select = registry.DemoFirst
			}
			return tui.Run(hangup, api, opts)
		}, nil
	}
}

// serveControl serves the operator API on the control socket until ctx
// ends. A control socket that cannot be opened costs only remote access, so
// it is logged and said on the console (e.notice), not fatal; a demo whose
// fixed socket another demo holds serves beside it instead (socket.go).
func (e engine) serveControl(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Operators reach the engine only once it runs: a reload or start
		// before that has nothing to act on.
		select {
		case <-e.sup.Ready():
		case <-ctx.Done():
			close(e.notice)
			return
		}
		ln, note := e.listenControl()
		if note != nil {
			e.notice <- *note
		}
		close(e.notice)
		if ln == nil {
			return
		}
		if err := (&control.Server{API: e.sup, Log: e.log}).ServeListener(ctx, ln); err != nil {
			e.log.Warn("control socket failed; ctl and attach cannot reach this instance", "err", err)
		}
	}()
	return done
}

// runScript runs the --script once the plugins are up, printing its steps
// to out, and calls stop (if any) when it ends.
func (e engine) runScript(ctx context.Context, stop context.CancelFunc, out io.Writer, echo bool) *scriptRun {
	r := &scriptRun{result: make(chan scriptResult, 1), echo: echo, out: e.stderr}
	if e.script == nil {
		r.result <- scriptResult{code: exitOK, ran: true}
		return r
	}
	go func() {
		res := scriptResult{code: exitFailure, summary: "the engine stopped before the plugins were up"}
		select {
		case <-e.sup.Ready():
			sum, err := e.script.Run(ctx, e.sup, out)
			res.summary, res.ran = sum.String(), true
			if err == nil && sum.OK {
				res.code = exitOK
			}
		case <-ctx.Done():
		}
		r.result <- res
		if stop != nil {
			stop()
		}
	}()
	return r
}

type scriptResult struct {
	code    int
	summary string
	ran     bool // the script itself printed its summary to its output
}

// scriptRun is a --script under way. echo: its output went to the log (the
// console owned the terminal), so its summary is printed again at the end.
type scriptRun struct {
	result chan scriptResult
	echo   bool
	out    io.Writer // where the summary is said at the end
}

// report prints the script's summary to stderr once the terminal is free
// again, and gives the exit code it earned; a script the engine outlived
// unfinished (the operator quit first) fails.
func (r *scriptRun) report() int {
	select {
	case res := <-r.result:
		if res.summary != "" && (r.echo || !res.ran) {
			fmt.Fprintln(r.out, "plugvisor: script:", res.summary)
		}
		return res.code
	default:
		fmt.Fprintln(r.out, "plugvisor: script: stopped before it finished")
		return exitFailure
	}
}

func parseScript(path string) (*script.Script, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--script: %w", err)
	}
	defer f.Close()
	return script.Parse(path, f)
}

// runAttach opens the console on a running plugvisor through its control
// socket; quitting leaves its plugins running.
func runAttach(args []string) int {
	fs := flag.NewFlagSet("attach", flag.ContinueOnError)
	socket := fs.String("socket", "", "control socket (default: from the config, else the demo's)")
	config := fs.String("config", "", "config file whose control socket to use")
	theme := fs.String("theme", "", "console theme")
	var remote ctl.FleetFlags
	remote.Register(fs)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	api, title, closeAPI, code := attachTo(ctx, *socket, *config, remote)
	if code != exitOK {
		return code
	}
	defer closeAPI()
	err := tui.Run(ctx, api, tui.Options{
		Theme: *theme, ThemeDir: themeDir(), KeepState: true, Title: "plugvisor — attached to " + title,
		Lost: api.Done(), LostErr: api.Err,
	})
	switch {
	case errors.Is(err, tui.ErrConnectionLost):
		fmt.Fprintln(os.Stderr, "plugvisor attach:", err)
		return exitConnect
	case err != nil:
		fmt.Fprintln(os.Stderr, "plugvisor attach:", err)
		return exitFailure
	}
	return exitOK
}

// attached is an engine attach reaches remotely: on its control socket or
// over NATS.
type attached interface {
	supervisor.API
	Done() <-chan struct{}
	Err() error
}

// attachTo connects to the engine the flags name: a fleet host over NATS
// with --nats, else the control socket.
func attachTo(ctx context.Context, socket, config string, remote ctl.FleetFlags) (attached, string, func(), int) {
	if remote.URL != "" {
		c, op, err := remote.Dial("plugvisor attach")
		if err != nil {
			fmt.Fprintln(os.Stderr, "plugvisor attach:", err)
			return nil, "", nil, exitConnect
		}
		fleet.QuietAsyncErrors(op.Conn, nil) // nothing may print over the console
		return c, remote.Host + " over NATS", op.Close, exitOK
	}
	path, err := ctl.SocketPath(socket, config)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugvisor attach:", err)
		return nil, "", nil, exitUsage
	}
	client, err := control.Dial(ctx, path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "plugvisor attach: %v\n", err)
		return nil, "", nil, exitConnect
	}
	return client, path, func() { client.Close() }, exitOK
}

// logTarget is stderr headless, through a queue that never makes the
// engine wait on it (a stderr nobody reads would otherwise stop every
// goroutine that logs); with a console on the terminal, logs go to
// <work_dir>/plugvisor.log so they cannot tear the screen.
func logTarget(console bool, cfg *registry.Config) (io.Writer, func(), error) {
	if !console {
		w := lossy.NewWriter(os.Stderr, logBuffer)
		return w, func() { w.Close(time.Second) }, nil
	}
	if err := os.MkdirAll(cfg.Agent.WorkDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(cfg.Agent.WorkDir, "plugvisor.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	return f, func() { f.Close() }, nil
}

// logBuffer bounds the supervisor's own log lines waiting for stderr.
const logBuffer = 1 << 20

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: want text or json, got %q", format)
}

func openData(path string) (io.Writer, func(), error) {
	if path == "" {
		return os.Stdout, func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("--data-out: %w", err)
	}
	return f, func() { f.Close() }, nil
}

// logWriter sends a script's progress lines to the log while the console
// owns the terminal.
type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.Info("script", "line", string(p))
	return len(p), nil
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// leaveEarly is the end when the operator would not wait for the plugins
// to stop (a second ctrl+c in the console's stop progress): plugvisor exits
// now, mid-stop. Its watchdog sees it go and kills every plugin process
// group (and cgroup) it was told about, so nothing is left running; without
// a watchdog, the plugins' first processes still get their parent-death
// signal.
func (e engine) leaveEarly() int {
	if e.leftEarly != nil {
		*e.leftEarly = true
	}
	info, err := e.sup.Info(context.Background())
	what := leftEarlyWords(err == nil && info.WatchdogPID != 0)
	e.log.Warn("left without waiting for the plugins to stop", "then", what)
	fmt.Fprintln(e.stderr, "plugvisor: left without waiting for the plugins to stop; "+what)
	return exitFailure
}

// leftEarlyWords is what happens to the plugins once plugvisor has left
// mid-stop: the watchdog kills them, or, when it has given up, only the
// first process of each gets its parent-death signal.
func leftEarlyWords(watchdog bool) string {
	if watchdog {
		return "the watchdog kills them as plugvisor exits"
	}
	return "no watchdog is running: only each plugin's first process gets its parent-death signal, and what it started may go on"
}
