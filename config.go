package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/supervisor"
)

// loadConfig finds and loads the configuration, or builds the embedded demo
// in a private temporary work dir (removed by cleanup) when there is none.
// reload is nil for the demo, which has no file to re-read.
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
	err = registry.Check(cfg, os.Stdout)
	fmt.Println("\ncontainment on this machine:")
	for _, line := range supervisor.DescribeContainment(cfg) {
		fmt.Println("  " + line)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitUsage
	}
	if cfg.Fleet != nil {
		fmt.Println()
		if err := fleet.Probe(context.Background(), cfg.Fleet, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return exitFailure
		}
	}
	return exitOK
}

// themeDir is where user themes live: $XDG_CONFIG_HOME/plugvisor/themes.
func themeDir() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "plugvisor", "themes")
}
