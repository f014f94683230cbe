// Command plugvisor supervises plugin processes: headless as a daemon, or with an operations console.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/plugvisor/plugvisor/examples"
	"github.com/plugvisor/plugvisor/headless"
	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/supervisor"
)

// Exit codes, documented in the README.
const (
	exitOK      = 0
	exitFailure = 1 // the supervisor failed while running
	exitUsage   = 2 // bad command line or configuration
)

func main() {
	supervisor.RunWatchdogIfRequested()
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "plugin":
			return runPlugin(args[1:])
		case "check":
			return runCheck(args[1:])
		}
	}
	return runSupervisor(args)
}

// runPlugin runs one of the embedded example plugins; the demo starts the
// plugvisor binary itself as `plugvisor plugin <name>`.
func runPlugin(args []string) int {
	if len(args) == 0 {
		fmt.Fprintf(os.Stderr, "usage: plugvisor plugin NAME [ARGS]\nplugins: %v\n", examples.Names())
		return exitUsage
	}
	main, ok := examples.Lookup(args[0])
	if !ok {
		fmt.Fprintf(os.Stderr, "plugvisor plugin: no embedded plugin %q (have %v)\n", args[0], examples.Names())
		return exitUsage
	}
	if err := main(args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "plugin %s: %v\n", args[0], err)
		return exitFailure
	}
	return exitOK
}

func runCheck(args []string) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	configPath := fs.String("config", "", "config file (default: $PLUGVISOR_CONFIG, then $XDG_CONFIG_HOME/plugvisor/config.toml)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	cfg, _, cleanup, err := loadConfig(*configPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitUsage
	}
	defer cleanup()
	if err := registry.Check(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitUsage
	}
	return exitOK
}

type runFlags struct {
	config    string
	noTUI     bool
	logFormat string
	logLevel  string
	dataOut   string
}

func parseRunFlags(args []string) (runFlags, error) {
	var f runFlags
	fs := flag.NewFlagSet("plugvisor", flag.ContinueOnError)
	fs.StringVar(&f.config, "config", "", "config file (default: $PLUGVISOR_CONFIG, then $XDG_CONFIG_HOME/plugvisor/config.toml; none: the embedded demo)")
	fs.BoolVar(&f.noTUI, "no-tui", false, "run headless: events as logs on stderr, records as JSON lines")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&f.dataOut, "data-out", "", "write records to this file instead of stdout")
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return f, err
}

func runSupervisor(args []string) int {
	f, err := parseRunFlags(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugvisor:", err)
		return exitUsage
	}
	log, err := newLogger(os.Stderr, f.logFormat, f.logLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugvisor:", err)
		return exitUsage
	}
	cfg, reload, cleanup, err := loadConfig(f.config)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitUsage
	}
	defer cleanup()
	self, _ := os.Executable()
	sup, err := supervisor.New(supervisor.Options{Config: cfg, Reload: reload, Logger: log, WatchdogExe: self})
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugvisor:", err)
		return exitUsage
	}
	data, closeData, err := openData(f.dataOut)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugvisor:", err)
		return exitUsage
	}
	defer closeData()
	if !f.noTUI {
		fmt.Fprintln(os.Stderr, "plugvisor: the console is not available in this build; running headless")
	}
	if err := headless.Run(context.Background(), sup, headless.Options{Log: log, Data: data, Signals: true}); err != nil {
		log.Error("supervisor failed", "err", err)
		return exitFailure
	}
	return exitOK
}

// loadConfig finds and loads the configuration, or builds the embedded demo
// in a private temporary work dir (removed by cleanup) when there is none.
func loadConfig(flagPath string) (cfg *registry.Config, reload func() (*registry.Config, error), cleanup func(), err error) {
	cleanup = func() {}
	path, err := registry.Resolve(flagPath, os.Getenv)
	if errors.Is(err, registry.ErrNoConfig) {
		return demoConfig()
	}
	if err != nil {
		return nil, nil, cleanup, err
	}
	cfg, err = registry.Load(path)
	if err != nil {
		return nil, nil, cleanup, err
	}
	return cfg, func() (*registry.Config, error) { return registry.Load(path) }, cleanup, nil
}

func demoConfig() (*registry.Config, func() (*registry.Config, error), func(), error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, func() {}, fmt.Errorf("demo: %w", err)
	}
	dir, err := os.MkdirTemp("", "plugvisor-demo-")
	if err != nil {
		return nil, nil, func() {}, fmt.Errorf("demo: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	cfg, err := registry.Demo(self, dir)
	if err != nil {
		cleanup()
		return nil, nil, func() {}, err
	}
	return cfg, nil, cleanup, nil
}

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
