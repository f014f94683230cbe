package registry

import (
	"encoding/hex"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// maxSocketPath is the longest path a Unix socket address holds on Linux:
// sun_path is 108 bytes including the terminating NUL.
const maxSocketPath = 107

const (
	minFrame, maxFrame = KiB, 64 * MiB
	maxInstances       = 64
)

// Names are checked byte by byte rather than by regular expressions, whose
// compilation at package init every start of the binary (each ctl call,
// each demo plugin) would pay.

// validName says whether s is 1 to 64 letters, digits, '_' or '-'.
func validName(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := range len(s) {
		if !isWordByte(s[i]) && s[i] != '-' {
			return false
		}
	}
	return true
}

// validEnvKey says whether s is letters, digits and '_', not starting with
// a digit.
func validEnvKey(s string) bool {
	if s == "" || isDigit(s[0]) {
		return false
	}
	for i := range len(s) {
		if !isWordByte(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || isDigit(c) || c == '_'
}

// validator checks a complete config; it sees only typed values, so a
// programmatic config (the demo) gets the same checks as a file.
type validator struct {
	src  sourceMap
	errs *Errors
}

func (v *validator) fail(k keyPath, format string, args ...any) {
	v.errs.add(v.src.pos(k), k.String(), format, args...)
}

func validate(cfg *Config, src sourceMap, errs *Errors) {
	v := &validator{src: src, errs: errs}
	v.agent(&cfg.Agent)
	for _, p := range cfg.Plugins {
		v.plugin(p)
	}
	v.hosts(cfg)
	v.fleet(cfg.Fleet)
	v.trust(cfg)
}

func (v *validator) agent(a *Agent) {
	k := keyPath{"agent"}
	if a.Name == "" {
		v.fail(k.key("name"), "must not be empty")
	}
	if a.Host == "" {
		v.fail(k.key("host"), "must not be empty")
	}
	switch {
	case a.WorkDir == "":
		v.fail(k.key("work_dir"), "must be set: there is no $XDG_STATE_HOME or $HOME to derive it from")
	case !filepath.IsAbs(a.WorkDir):
		v.fail(k.key("work_dir"), "must be an absolute path, got %q", a.WorkDir)
	}
	v.socket(k.key("socket"), a.Socket)
	v.socket(k.key("control_socket"), a.ControlSocket)
	if a.Socket != "" && a.Socket == a.ControlSocket {
		v.fail(k.key("control_socket"), "must differ from agent.socket (both are %s)", a.Socket)
	}
	v.durations(k, a)
	if a.MaxFrame < minFrame || a.MaxFrame > maxFrame {
		v.fail(k.key("max_frame"), "%s is out of range (want %s to %s)", a.MaxFrame, minFrame, maxFrame)
	}
	if a.LogMaxSize < KiB {
		v.fail(k.key("log_max_size"), "must be at least 1KiB, got %s", a.LogMaxSize)
	}
	for _, b := range []struct {
		key string
		v   Size
	}{{"subscriber_buffer", a.SubscriberBuffer}, {"output_buffer", a.OutputBuffer}, {"task_reply_buffer", a.TaskReplyBuffer}, {"log_memory", a.LogMemory}, {"history_memory", a.HistoryMemory}} {
		if b.v < 64*KiB || b.v > 4*GiB {
			v.fail(k.key(b.key), "%s is out of range (want 64KiB to 4GiB)", b.v)
		}
	}
	if a.LogBackups < 0 {
		v.fail(k.key("log_backups"), "must not be negative, got %d", a.LogBackups)
	}
	if a.RestartBurst < 1 {
		v.fail(k.key("restart_burst"), "must be at least 1, got %d", a.RestartBurst)
	}
	for i, dir := range a.ManifestDirs {
		if !filepath.IsAbs(dir) {
			v.fail(k.key("manifest_dirs").index(i), "must be an absolute path, got %q", dir)
		}
	}
	v.limits(k, a.Limits, allOwn)
	v.metricsListen(k.key("metrics_listen"), a.MetricsListen)
}

func (v *validator) durations(k keyPath, a *Agent) {
	positive := map[string]time.Duration{
		"heartbeat_interval":   a.HeartbeatInterval,
		"heartbeat_timeout":    a.HeartbeatTimeout,
		"registration_timeout": a.RegistrationTimeout,
		"task_timeout":         a.TaskTimeout,
		"restart_window":       a.RestartWindow,
	}
	v.positive(k, positive)
	if a.StopGrace < 0 {
		v.fail(k.key("stop_grace"), "must not be negative, got %s", a.StopGrace)
	}
	if a.HeartbeatInterval > 0 && a.HeartbeatTimeout <= a.HeartbeatInterval {
		// Point at whichever of the two the operator wrote, the timeout first.
		at := k.key("heartbeat_timeout")
		if !v.src.has(at) && v.src.has(k.key("heartbeat_interval")) {
			at = k.key("heartbeat_interval")
		}
		v.fail(at, "heartbeat_timeout (%s) must be longer than heartbeat_interval (%s), or every beat would time out",
			a.HeartbeatTimeout, a.HeartbeatInterval)
	}
}

func (v *validator) socket(k keyPath, path string) {
	switch {
	case path == "":
		// Only when work_dir is missing, which is reported already.
	case !filepath.IsAbs(path):
		v.fail(k, "must be an absolute path, got %q", path)
	case len(path) > maxSocketPath:
		v.fail(k, "%s is %d bytes, longer than the %d bytes Linux allows for a Unix socket path; choose a shorter work_dir or set this key",
			path, len(path), maxSocketPath)
	}
}

func (v *validator) plugin(p *Plugin) {
	k := keyPath{"plugins", p.Name}
	if !validName(p.Name) {
		v.fail(k, "invalid plugin name %q: a name becomes part of file and socket paths, so it must be 1 to 64 letters, digits, '_' or '-'", p.Name)
	}
	execOK := v.exec(k.key("exec"), p.Exec)
	if p.SHA256 != "" || !p.RequireSignature {
		v.sha256(k.key("sha256"), p, execOK)
	}
	for i, arg := range p.Args {
		if strings.ContainsRune(arg, 0) {
			v.fail(k.key("args").index(i), "must not contain a NUL byte")
		}
	}
	v.env(k.key("env"), p.Env)
	if !p.Restart.valid() {
		v.fail(k.key("restart"), "unknown policy %q (want always, on-failure or never)", p.Restart)
	}
	if p.Instances < 1 || p.Instances > maxInstances {
		v.fail(k.key("instances"), "must be between 1 and %d, got %d", maxInstances, p.Instances)
	}
	if p.StartTimeout <= 0 {
		v.fail(k.key("start_timeout"), "must be positive, got %s", p.StartTimeout)
	}
	v.limits(k, p.Limits, p.owns)
	v.sandbox(k.key("sandbox"), p.Sandbox)
	v.sandboxUser(k, p)
}

// exec checks the executable as it is now; Verify checks it again, on the
// open file, at every start.
func (v *validator) exec(k keyPath, path string) bool {
	switch {
	case path == "":
		v.fail(k, "required: the path of the plugin's executable")
		return false
	case !filepath.IsAbs(path):
		v.fail(k, "must be an absolute path, got %q", path)
		return false
	}
	if err := checkExecutable(path); err != nil {
		v.fail(k, "%v", err)
		return false
	}
	return true
}

func (v *validator) sha256(k keyPath, p *Plugin, execOK bool) {
	if validSHA256(p.SHA256) {
		return
	}
	// Offer the file's hash so the operator need not run sha256sum, but only
	// as a fact to check: pasting it blindly would trust whatever is there now.
	hint := ""
	if execOK {
		if sum, err := FileSHA256(p.Exec); err == nil {
			hint = fmt.Sprintf("; %s currently has sha256 %s (check it is the build you trust before pasting it)", p.Exec, sum)
		}
	}
	if p.SHA256 == "" {
		v.fail(k, "required%s", hint)
		return
	}
	v.fail(k, "must be 64 hex digits, got %q%s", p.SHA256, hint)
}

func validSHA256(s string) bool {
	if len(s) != 64 || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func (v *validator) env(k keyPath, env map[string]string) {
	for _, name := range slices.Sorted(maps.Keys(env)) {
		switch {
		case strings.HasPrefix(name, "PLUGVISOR_"):
			v.fail(k.key(name), "reserved: plugvisor sets the PLUGVISOR_* variables itself")
		case !validEnvKey(name):
			v.fail(k.key(name), "invalid variable name (want letters, digits and '_', not starting with a digit)")
		}
		if strings.ContainsRune(env[name], 0) {
			v.fail(k.key(name), "must not contain a NUL byte")
		}
	}
}

func (v *validator) hosts(cfg *Config) {
	if cfg.Hosts == nil {
		return
	}
	names := make([]string, len(cfg.Plugins))
	for i, p := range cfg.Plugins {
		names[i] = p.Name
	}
	hostNames := slices.Sorted(maps.Keys(cfg.Hosts))
	for _, host := range hostNames {
		seen := map[string]bool{}
		for i, name := range cfg.Hosts[host].Plugins {
			k := keyPath{"hosts", host, "plugins"}.index(i)
			switch {
			case seen[name]:
				v.fail(k, "%q is listed twice", name)
			case cfg.Plugin(name) == nil:
				v.fail(k, "undefined plugin %q%s", name, suggest(name, names))
			}
			seen[name] = true
		}
	}
	if _, ok := cfg.Hosts[cfg.Agent.Host]; !ok {
		k := keyPath{"agent", "host"}
		if !v.src.has(k) {
			k = keyPath{"hosts"} // the default host name: blame the table that needs it
		}
		has := "which is empty"
		if len(hostNames) > 0 {
			has = "which has " + strings.Join(hostNames, ", ")
		}
		v.errs.add(v.src.pos(k), "agent.host", "host %q is not in [hosts] (%s): set agent.host or add [hosts.%s]",
			cfg.Agent.Host, has, cfg.Agent.Host)
	}
}

// positive fails every duration of durations, by key, that is not above
// zero; in key order, so the messages come out the same each time.
func (v *validator) positive(k keyPath, durations map[string]time.Duration) {
	for _, key := range slices.Sorted(maps.Keys(durations)) {
		if durations[key] <= 0 {
			v.fail(k.key(key), "must be positive, got %s", durations[key])
		}
	}
}
