// Package registry loads, validates and verifies plugvisor's configuration: which plugin executables may run, how, and on which host.
package registry

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is a loaded and validated configuration.
type Config struct {
	Files   []string // every file that contributed: main config first, then the revocation file and manifests
	Agent   Agent
	Plugins []*Plugin       // sorted by Name
	Hosts   map[string]Host // nil when the config has no [hosts] table
	Fleet   *Fleet          // nil when the config has no [fleet] table: the fleet link is off
	Trust   *Trust          // nil when the config has no [trust] table: no plugin needs a signature
}

// Plugin returns the plugin called name, or nil.
func (c *Config) Plugin(name string) *Plugin {
	i, ok := slices.BinarySearchFunc(c.Plugins, name, func(p *Plugin, n string) int {
		return strings.Compare(p.Name, n)
	})
	if !ok {
		return nil
	}
	return c.Plugins[i]
}

// Allowed returns the plugins this host may run, sorted by name: all of them
// when there is no [hosts] table, else those listed for Agent.Host.
func (c *Config) Allowed() []*Plugin {
	if c.Hosts == nil {
		return slices.Clone(c.Plugins)
	}
	listed := c.Hosts[c.Agent.Host].Plugins
	var out []*Plugin
	for _, p := range c.Plugins {
		if slices.Contains(listed, p.Name) {
			out = append(out, p)
		}
	}
	return out
}

// Agent is the [agent] table: how this supervisor runs.
type Agent struct {
	Name                string        // supervisor name; default os.Hostname()
	Host                string        // key into [hosts]; default os.Hostname()
	WorkDir             string        // absolute; default $XDG_STATE_HOME/plugvisor or ~/.local/state/plugvisor
	Socket              string        // default <WorkDir>/plugvisor.sock
	ControlSocket       string        // default <WorkDir>/plugvisor.ctl.sock
	HeartbeatInterval   time.Duration // default 1s
	HeartbeatTimeout    time.Duration // default 5s; greater than HeartbeatInterval
	RegistrationTimeout time.Duration // default 5s: time a fresh connection has to send hello
	TaskTimeout         time.Duration // default 10s
	StopGrace           time.Duration // default 5s; 0 kills at once
	MaxFrame            Size          // default 4MiB; 1KiB to 64MiB
	LogMaxSize          Size          // default 10MiB: stdout/stderr files rotate at this size
	LogBackups          int           // default 3
	// Byte budgets: what the supervisor holds for others, each bounded in
	// bytes; what exceeds one is dropped and counted, never waited for.
	SubscriberBuffer Size          // default 16MiB: events queued for one subscriber (console, headless, a control client)
	OutputBuffer     Size          // default 16MiB: headless records waiting for their output
	TaskReplyBuffer  Size          // default 4MiB: progress records kept for one task's reply (the final one always is)
	LogMemory        Size          // default 256KiB: recent output lines kept in memory per instance
	HistoryMemory    Size          // default 96KiB: per instance, what History keeps of state changes, task outcomes, records and log lines about it, a quarter each
	RestartBurst     int           // default 5 restarts ...
	RestartWindow    time.Duration // ... within this window (default 60s) make a plugin failed
	ManifestDirs     []string      // absolute dirs scanned for <dir>/<name>/plugin.toml
	Theme            string        // console theme name; checked by the console, not here
	// MetricsListen (metrics_listen) is the host:port serving metrics, ""
	// for none; stored normalised, a bare ":port" or "port" meaning
	// 127.0.0.1:port.
	MetricsListen string
	// Limits are every plugin's default cgroup limits (memory_max,
	// memory_high, cpu_max, pids_max); a plugin overrides them key by key.
	Limits Limits
	// User and Group are every plugin's default user and group (names or
	// numeric ids); unset, plugins run as the supervisor's own. See
	// Plugin.UID for what running as a user means.
	User, Group string
}

// RestartPolicy says when an exited plugin is started again.
type RestartPolicy string

const (
	RestartAlways    RestartPolicy = "always"
	RestartOnFailure RestartPolicy = "on-failure"
	RestartNever     RestartPolicy = "never"
)

func (r RestartPolicy) valid() bool {
	return r == RestartAlways || r == RestartOnFailure || r == RestartNever
}

// Plugin is one [plugins.<name>] table or one manifest.
type Plugin struct {
	Name         string // [A-Za-z0-9_-]{1,64}
	Exec         string // absolute path
	Args         []string
	Env          map[string]string
	Version      string
	SHA256       string // lowercase hex
	AutoStart    bool   // default true
	Restart      RestartPolicy
	StartTimeout time.Duration // time to register after exec; default Agent.RegistrationTimeout
	Instances    int           // 1 to 64, default 1
	Author       string
	Description  string
	// Limits are the plugin's effective cgroup limits: each key it writes
	// overrides the agent's default of that name, and its "none" (or
	// pids_max = 0) turns that default off.
	Limits Limits
	// User and Group are who the plugin runs as, as written (its own keys,
	// else the agent's), for messages. Group "" under a User means that
	// user's primary group; the agent's group goes with the agent's user,
	// so a plugin naming its own user gets that user's primary group unless
	// it names a group too.
	User, Group string
	// UID and GID are what User and Group resolved to at load; -1 means the
	// supervisor's own (a GID alone changes only the group). The supervisor
	// starts a plugin with either set with exactly that uid and gid and no
	// supplementary groups: the user's other memberships in the group
	// database are not granted, and neither are the supervisor's.
	UID, GID int
	Sandbox  *Sandbox // nil: no sandbox
	// RequireSignature is the plugin's require_signature, else the
	// [trust] table's: the executable runs only with a valid signature
	// from a trusted key (see VerifyPlugin), and sha256 becomes optional.
	RequireSignature bool
	// Signature is the path of its minisign signature: the signature key,
	// else Exec + ".minisig".
	Signature string
	// AllowDowngrade lets it run a signed version older than the highest
	// one this host has run (see Versions).
	AllowDowngrade bool
	Where          Pos // the [plugins.<name>] header, or line 1 of the manifest

	own map[string]bool // keys defaulting to the agent's that the plugin wrote itself
}

// owns reports whether the plugin wrote key itself rather than taking the
// agent's default.
func (p *Plugin) owns(key string) bool { return p.own[key] }

// InstanceIDs names the plugin's instances: the bare name for a single
// instance, else name.0, name.1, …; '.' cannot appear in a plugin name, so
// the IDs of different plugins never collide.
func (p *Plugin) InstanceIDs() []string {
	if p.Instances <= 1 {
		return []string{p.Name}
	}
	ids := make([]string, p.Instances)
	for i := range ids {
		ids[i] = p.Name + "." + strconv.Itoa(i)
	}
	return ids
}

// Host is one [hosts.<name>] table: the plugins that host may run.
type Host struct {
	Plugins []string
	Where   Pos
}
