package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/plugvisor/plugvisor/ctl"
	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/headless"
	"github.com/plugvisor/plugvisor/internal/fleetdemo"
	"github.com/plugvisor/plugvisor/tui"
)

// fleetConsoleFPS is the fleet console's frame rate, above the local
// console's tui.FPS (24). A console paints a frame only when it changes
// (tui/screen), a key's frame at once; frames that follow from traffic
// wait for the next period, and while records flood the console a key
// pressed just after a frame waits with them: up to 42 ms at 24, which
// with anything else on a busy machine is past the fleet console's target
// of 50 ms from a key to its frame (BENCHMARKS.md, "Fleet: key → frame
// while records flood the console"), 17 ms at 60. More frames cost CPU
// only while the frame keeps changing, which on an operator's machine,
// while an operator watches the fleet's traffic, is cheap.
const fleetConsoleFPS = 60

type fleetFlags struct {
	remote      ctl.FleetFlags
	demo, noTUI bool
	theme, sel  string
	hosts       int
	fps         int
	logFormat   string
	logLevel    string
}

// fleetFlagSet is the console's flags, the one list both parsing and the
// help text read.
func fleetFlagSet(f *fleetFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("fleet", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Usage = func() { printFleetUsage(fs.Output(), fs) }
	f.remote.Register(fs)
	fs.BoolVar(&f.demo, "demo", false, "start a NATS server and simulated hosts in this process, and show them")
	fs.IntVar(&f.hosts, "demo-hosts", fleetdemo.DefaultHosts, "how many hosts --demo simulates")
	fs.BoolVar(&f.noTUI, "no-tui", false, "headless: the fleet's events as logs on stderr, records as JSON lines on stdout")
	fs.StringVar(&f.theme, "theme", "", "console theme")
	fs.StringVar(&f.sel, "select", "*", "the hosts to show (a selector: host=edge-1, env=prod,role=edge, *)")
	fs.IntVar(&f.fps, "fps", fleetConsoleFPS, "the most frames a second the console paints (1 to 120)")
	fs.StringVar(&f.logFormat, "log-format", "text", "headless log format: text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "headless log level")
	return fs
}

// printFleetUsage writes the fleet's usage and then every flag of the
// console, so that a flag added to the set is in the help too.
func printFleetUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, fleetUsage)
	fmt.Fprintln(w, "\nflags of the console (plugvisor fleet --nats URL | --demo):")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

func parseFleetFlags(args []string) (fleetFlags, fleet.Selector, error) {
	var f fleetFlags
	fs := fleetFlagSet(&f)
	if err := fs.Parse(args); err != nil {
		return f, fleet.Selector{}, err
	}
	switch {
	case fs.NArg() > 0:
		return f, fleet.Selector{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case f.remote.Host != "":
		return f, fleet.Selector{}, errors.New("--host is for one host: the fleet picks hosts with --select host=NAME")
	case f.demo == (f.remote.URL != ""):
		return f, fleet.Selector{}, errors.New("say --nats URL (the fleet's server) or --demo")
	case f.fps < 1 || f.fps > 120:
		return f, fleet.Selector{}, fmt.Errorf("--fps %d: say 1 to 120 frames a second", f.fps)
	}
	sel, err := fleet.ParseSelector(f.sel)
	return f, sel, err
}

// runFleetConsole is `plugvisor fleet [--nats URL | --demo]`: the console,
// or headless, over the fleet API; with --demo over a server and hosts it
// starts and stops itself.
func runFleetConsole(args []string) int {
	f, sel, err := parseFleetFlags(args)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "plugvisor fleet:", err)
		}
		return exitUsage
	}
	console := !f.noTUI && isTerminal(os.Stdin) && isTerminal(os.Stdout)
	log, err := newLogger(os.Stderr, f.logFormat, f.logLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugvisor fleet:", err)
		return exitUsage
	}
	// Taken before a demo starts, so no signal ends the process with the
	// demo's hosts and directory left behind: SIGHUP (the terminal gone)
	// and SIGINT (not ctrl+c, which the console reads as a key, but a
	// kill -INT) end it as SIGTERM does.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	title := "plugvisor — fleet on " + f.remote.URL
	if f.demo {
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintln(os.Stderr, "plugvisor fleet --demo:", err)
			return exitFailure
		}
		d, err := fleetdemo.Start(fleetdemo.Options{Self: self, Hosts: f.hosts})
		if err != nil {
			fmt.Fprintln(os.Stderr, "plugvisor fleet --demo:", err)
			return exitFailure
		}
		defer func() {
			if err := d.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "plugvisor fleet --demo:", err)
			}
		}()
		f.remote.URL, title = d.URL, fmt.Sprintf("plugvisor — fleet demo, %d hosts on %s", len(d.Hosts), d.URL)
		if !console {
			log.Info("fleet demo: NATS server and hosts started", "url", d.URL, "hosts", d.Hosts)
		}
	}
	if ctx.Err() != nil {
		return exitOK
	}
	return runOverFleet(ctx, f, sel, console, title, log)
}

// runOverFleet runs the console, or headless, over the fleet until ctx
// ends (a signal), the console quits or the connection ends.
func runOverFleet(ctx context.Context, f fleetFlags, sel fleet.Selector, console bool, title string, log *slog.Logger) int {
	r := f.remote
	op, err := r.Connect("plugvisor fleet")
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugvisor fleet:", err)
		return exitConnect
	}
	defer op.Close()
	var asyncLog *slog.Logger
	if !console { // the console's terminal is no place for them
		asyncLog = log
	}
	fleet.QuietAsyncErrors(op.Conn, asyncLog)
	fl, err := fleet.StartFleet(ctx, fleet.FleetOptions{Conn: op.Conn, Prefix: r.Prefix, Selector: sel})
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugvisor fleet:", err)
		return exitConnect
	}
	defer fl.Close()
	conn := op.Client(r.Prefix, "") // its Done and Err follow the connection
	if !console {
		return fleetHeadless(ctx, fl, log, conn.Done())
	}
	err = tui.Run(ctx, fl, fleetConsoleOptions(f, title, conn.Done(), conn.Err))
	switch {
	case errors.Is(err, tui.ErrConnectionLost):
		fmt.Fprintln(os.Stderr, "plugvisor fleet:", err)
		return exitConnect
	case err != nil:
		fmt.Fprintln(os.Stderr, "plugvisor fleet:", err)
		return exitFailure
	}
	return exitOK
}

// fleetConsoleOptions are the console's options over the fleet: lost with
// the connection, painting at f.fps.
func fleetConsoleOptions(f fleetFlags, title string, lost <-chan struct{}, why func() error) tui.Options {
	return tui.Options{Theme: f.theme, ThemeDir: themeDir(), KeepState: true, Title: title,
		Lost: lost, LostErr: why, FPS: f.fps}
}

// fleetHeadless writes the fleet's records as JSON lines and its events as
// logs until a signal or the connection's end.
func fleetHeadless(ctx context.Context, fl *fleet.Fleet, log *slog.Logger, lost <-chan struct{}) int {
	d, err := headless.Attach(fl, headless.Options{Log: log, Data: os.Stdout})
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugvisor fleet:", err)
		return exitConnect
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-lost:
		}
		close(done)
	}()
	_ = d.Run(func() {}, done)
	select {
	case <-lost:
		fmt.Fprintln(os.Stderr, "plugvisor fleet: the NATS connection is closed")
		return exitConnect
	default:
		return exitOK
	}
}
