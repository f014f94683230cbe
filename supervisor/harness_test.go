package supervisor_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// harness is a running supervisor whose cleanup also proves that nothing it
// started is left: no child process, zombie or alive, and no member of any
// plugin's process group.
type harness struct {
	*supervisortest.Env
	t testing.TB
}

func startHarness(t testing.TB, plugins string, tweak ...func(*supervisor.Options)) *harness {
	t.Helper()
	e := supervisortest.Start(t, plugins, supervisortest.Options{Supervisor: func(o *supervisor.Options) {
		for _, f := range tweak {
			f(o)
		}
	}})
	h := &harness{Env: e, t: t}
	t.Cleanup(h.checkNothingLeft) // runs before Start's own cleanup
	return h
}

func (h *harness) checkNothingLeft() {
	groups := h.Groups()
	h.Stop()
	for _, g := range groups {
		if pids := groupMembers(g); len(pids) > 0 {
			h.t.Errorf("process group %d still has members %v after stop", g, pids)
		}
	}
	if kids := children(os.Getpid()); len(kids) > 0 {
		h.t.Errorf("children left after stop: %v", kids)
	}
}

func plugin(t testing.TB, name, exe, extra string) string {
	return supervisortest.Plugin(t, name, exe, extra)
}

// reloadFrom returns a config loader for Options.Reload that parses *plugins
// under the test [agent] of dir each time it is called.
func reloadFrom(dir string, plugins *string) func() (*registry.Config, error) {
	return func() (*registry.Config, error) {
		return registry.Parse(filepath.Join(dir, "config.toml"), []byte(supervisortest.AgentTOML(dir, nil)+*plugins))
	}
}

// groupMembers lists processes in pgid, zombies included.
func groupMembers(pgid int) []string {
	// fields[2] is stat field 5, pgrp.
	return scanProc(func(fields []string) bool { return fields[2] == fmt.Sprint(pgid) })
}

// children lists processes whose parent is pid, except the watchdog, which
// lives as long as its supervisor.
func children(pid int) []string {
	// fields[1] is stat field 4, ppid.
	return scanProc(func(fields []string) bool { return fields[1] == fmt.Sprint(pid) })
}

// scanProc returns "pid:state" of processes whose stat fields (from field 3,
// state, on) satisfy match.
func scanProc(match func(fields []string) bool) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) > 3 && match(fields) && !isWatchdog(e.Name()) {
			out = append(out, e.Name()+":"+fields[0])
		}
	}
	return out
}

func isWatchdog(pid string) bool {
	env, _ := os.ReadFile("/proc/" + pid + "/environ")
	return strings.Contains(string(env), supervisor.WatchdogEnv+"=1")
}
