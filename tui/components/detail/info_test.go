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

// longReason is a reason as the engine words a refused start: the digest
// it gives is meant to be pasted into the configuration.
const longReason = "config.toml:3: plugins.echo.sha256: missing; /opt/plugins/echo/bin/echo currently has sha256 " +
	digest + " (check it is the build you trust before pasting it)"

const digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// TestInfoWrapsReasonsAndSaysNoRTT: the state reason and every exit's
// reason are drawn whole, wrapped to the pane; with no task answered the
// RTT percentiles are "-", not 0s.
func TestInfoWrapsReasonsAndSaysNoRTT(t *testing.T) {
	s := state.New()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s.SetSnapshot([]supervisor.PluginStatus{{
		Name: "echo", Instance: "echo", State: supervisor.StateFailed, Since: at, Reason: longReason,
		Exits: []supervisor.Exit{{Time: at, Code: 1, Reason: "exited 1: " + longReason}},
	}}, supervisor.Info{})
	c := pvctx.New(themes.Default(), time.Now)
	const w = 76 // an 80-column pane
	var v infoView
	lines := v.lines(c, s.Plugin("echo"), s.Info, w, 200)
	var joined strings.Builder
	for _, l := range lines {
		plain := strings.TrimRight(ansi.Strip(l), " ")
		if render.Width(plain) > w {
			t.Errorf("line wider than %d: %q", w, plain)
		}
		joined.WriteString(strings.TrimSpace(plain) + "\n")
	}
	text := strings.ReplaceAll(joined.String(), "\n", " ")
	// The digest is whole on one line, so it can be selected and pasted.
	if n := strings.Count(joined.String(), digest); n != 2 {
		t.Errorf("the digest is whole on %d lines, want 2 (state, exit):\n%s", n, plainLines(lines))
	}
	for _, want := range []string{"before pasting it)"} {
		if n := strings.Count(text, want); n != 2 {
			t.Errorf("%q shown %d times (want in the state and the exit):\n%s", want, n, plainLines(lines))
		}
	}
	if !strings.Contains(text, "rtt p50 - p99 -") || strings.Contains(text, "p50 0s") {
		t.Errorf("no task answered, but the RTT is not '-':\n%s", plainLines(lines))
	}
}
