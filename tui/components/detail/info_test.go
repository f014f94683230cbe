package detail

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/themes"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// TestInfoWrapsContainment: on a narrow pane the texts worth reading whole
// (no cgroup, limits not enforced, the host's lines) wrap under their
// label instead of being cut; nothing is wider than the pane.
func TestInfoWrapsContainment(t *testing.T) {
	s := state.New()
	s.SetSnapshot([]supervisor.PluginStatus{{
		Name: "echo", Instance: "echo", State: supervisor.StateRunning, Started: time.Now(),
		Limits: "memory_max 64MiB", LimitsNotEnforced: "memory_max 64MiB: no cgroups (no cgroup2 mount)",
	}}, supervisor.Info{Containment: []string{"kill: SIGKILL to the process group; a child that called setsid or setpgid is not reached"}})
	c := pvctx.New(themes.Default(), time.Now)
	const w = 40
	var v infoView
	got := v.lines(c, s.Plugin("echo"), s.Info, w, 100)
	var lines []string
	for _, l := range got {
		lines = append(lines, strings.TrimRight(ansi.Strip(l), " "))
	}
	text := strings.Join(lines, "\n")
	for _, want := range []string{
		"cgroup      none: process group only; a\n            child that calls setsid is\n            not reached\n",
		"limits      memory_max 64MiB\n            not enforced: memory_max\n            64MiB: no cgroups (no\n            cgroup2 mount)\n",
		"kill        SIGKILL to the process\n            group; a child that called\n            setsid or setpgid is not\n            reached\n",
		"watchdog    none: plugins may outlive a\n            crash of the supervisor\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in:\n%s", want, text)
		}
		for _, l := range strings.Split(want, "\n") {
			if render.Width(l) > w {
				t.Errorf("wrapped line %q is wider than %d cells", l, w)
			}
		}
	}
}
