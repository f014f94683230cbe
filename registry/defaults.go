package registry

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// defaultAgent is the [agent] table before the config file speaks.
func defaultAgent(getenv func(string) string) Agent {
	host, _ := os.Hostname() // on failure validation reports the empty name
	return Agent{
		Name:                host,
		Host:                host,
		WorkDir:             defaultWorkDir(getenv),
		HeartbeatInterval:   time.Second,
		HeartbeatTimeout:    5 * time.Second,
		RegistrationTimeout: 5 * time.Second,
		TaskTimeout:         10 * time.Second,
		StopGrace:           5 * time.Second,
		MaxFrame:            4 * MiB,
		LogMaxSize:          10 * MiB,
		LogBackups:          3,
		SubscriberBuffer:    16 * MiB,
		OutputBuffer:        16 * MiB,
		TaskReplyBuffer:     4 * MiB,
		LogMemory:           256 * KiB,
		HistoryMemory:       96 * KiB,
		RestartBurst:        5,
		RestartWindow:       60 * time.Second,
	}
}

// defaultWorkDir follows the XDG base directory spec, which says to ignore a
// relative $XDG_STATE_HOME. It is "" when there is nothing to build it from.
func defaultWorkDir(getenv func(string) string) string {
	if x := getenv("XDG_STATE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "plugvisor")
	}
	if home := getenv("HOME"); filepath.IsAbs(home) {
		return filepath.Join(home, ".local", "state", "plugvisor")
	}
	return ""
}

// finishAgent derives the defaults that depend on other keys.
func finishAgent(a *Agent) {
	if a.WorkDir == "" {
		return
	}
	if a.Socket == "" {
		a.Socket = filepath.Join(a.WorkDir, "plugvisor.sock")
	}
	if a.ControlSocket == "" {
		a.ControlSocket = filepath.Join(a.WorkDir, "plugvisor.ctl.sock")
	}
}

func newPlugin(name string, where Pos) *Plugin {
	return &Plugin{Name: name, AutoStart: true, Restart: RestartOnFailure, Instances: 1, UID: -1, GID: -1, Where: where}
}

// finishPlugin derives the defaults that depend on the agent.
func finishPlugin(p *Plugin, a *Agent) {
	if p.StartTimeout == 0 {
		p.StartTimeout = a.RegistrationTimeout
	}
	p.SHA256 = strings.ToLower(p.SHA256) // sha256sum prints lowercase; some tools do not
	p.Limits = p.Limits.inherit(a.Limits, p.owns)
	if !p.owns("user") {
		p.User = a.User
		if !p.owns("group") {
			p.Group = a.Group
		}
	}
}
