package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// demoFile is the file name positions in the demo config carry.
const demoFile = "<demo>"

// Demo builds the config plugvisor runs when it has none: the example
// plugins compiled into the plugvisor binary self, run as "self plugin
// <name>". Their sha256 is taken from self now, so the demo exercises the
// same verification as any config. workDir "" means the usual default.
func Demo(self, workDir string) (*Config, error) {
	self, err := filepath.Abs(self)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	sum, err := FileSHA256(self)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	where := Pos{File: demoFile}
	a := defaultAgent(os.Getenv)
	a.Name = "plugvisor-demo"
	a.HeartbeatInterval = time.Second
	a.HeartbeatTimeout = 3 * time.Second
	// chaos crashes every few seconds on purpose; the demo should show it
	// cycling through backoff, not give up on it after a minute.
	a.RestartBurst = 10
	a.ControlSocket = DemoControlSocket(os.Getenv)
	if workDir != "" {
		if a.WorkDir, err = filepath.Abs(workDir); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	finishAgent(&a)

	plugin := func(name, desc string, args ...string) *Plugin {
		p := newPlugin(name, where)
		p.Exec, p.SHA256, p.Args = self, sum, args
		p.Author, p.Description = "plugvisor", desc
		return p
	}
	// --log: each plugin says what it does, so the first screen's log
	// pane has something worth reading.
	ticker := plugin("ticker", "emits a record every second", "plugin", "ticker", "--log")
	ticker.Restart = RestartAlways
	echo := plugin("echo", "replies to each task with its content", "plugin", "echo")
	echo.Instances = 2
	chaos := plugin("chaos", "crashes every few seconds to show restart backoff",
		"plugin", "chaos", "--crash-after", "5s", "--log")
	chaos.Restart = RestartOnFailure

	l := &loader{
		cfg:    &Config{Agent: a},
		src:    sourceMap{"": where},
		byName: map[string]*Plugin{"ticker": ticker, "echo": echo, "chaos": chaos},
	}
	return l.finish()
}

// Restart pacing of the demo (supervisor.Options): chaos crashes every
// five seconds for ever, and under the usual 60 s backoff cap it would sit
// a minute in backoff between crashes after a few minutes, a demo gone
// quiet. Capped at 8 s its cycle stays under 15 s; a run of 30 s would
// reset the backoff (chaos never makes one).
const (
	DemoBackoffMax   = 8 * time.Second
	DemoHealthyAfter = 30 * time.Second
	// DemoFirst is the instance the demo's console selects first: one whose
	// log pane has lines from the start.
	DemoFirst = "ticker"
)

// IsDemo says whether cfg is the one Demo built.
func IsDemo(cfg *Config) bool {
	return cfg != nil && len(cfg.Plugins) > 0 && cfg.Plugins[0].Where.File == demoFile
}

// DemoControlSocket is where the demo serves its control socket: a fixed
// place, unlike its temporary work dir, so `plugvisor ctl` finds a running
// demo without being told. $XDG_RUNTIME_DIR/plugvisor/demo.ctl.sock, else a
// per-user directory under the system temp dir.
func DemoControlSocket(getenv func(string) string) string {
	if dir := getenv("XDG_RUNTIME_DIR"); dir != "" {
		return filepath.Join(dir, "plugvisor", "demo.ctl.sock")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("plugvisor-%d", os.Getuid()), "demo.ctl.sock")
}

// DemoInstanceSocket is where a demo serves its control socket when
// another one holds DemoControlSocket: beside it, named for the demo's pid,
// so a second demo console can still be reached (and ctl finds it).
func DemoInstanceSocket(getenv func(string) string, pid int) string {
	return filepath.Join(filepath.Dir(DemoControlSocket(getenv)), fmt.Sprintf("demo-%d.ctl.sock", pid))
}

// DemoControlSockets lists where running demos may be reached: the fixed
// socket first, then every per-process one present, in name order.
func DemoControlSockets(getenv func(string) string) []string {
	fixed := DemoControlSocket(getenv)
	more, _ := filepath.Glob(filepath.Join(filepath.Dir(fixed), "demo-*.ctl.sock")) // only ErrBadPattern, and the pattern is fixed
	return append([]string{fixed}, more...)
}
