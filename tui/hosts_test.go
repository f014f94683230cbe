package tui

import (
	"regexp"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// twoHosts runs two real engines, edge-1 (env=prod: echo and ticker) and
// lab (env=dev: echo), each served on NATS as its host, and a fleet over
// them.
func twoHosts(t *testing.T) (*fleetRig, *rig, *rig) {
	t.Helper()
	edge := startRigWith(t, func(tb testing.TB) string {
		return pluginTOML(tb, "echo", true, "") + pluginTOML(tb, "ticker", true, `args = ["--interval", "50ms", "--log"]`)
	})
	lab := startRigWith(t, func(tb testing.TB) string { return pluginTOML(tb, "echo", true, "") })
	edge.waitState("echo", supervisor.StateRunning)
	lab.waitState("echo", supervisor.StateRunning)
	return startFleetRig(t, fleet.FleetOptions{}, labHost(lab), hostSpec{"edge-1", map[string]string{"env": "prod"}, edge.sup}), edge, lab
}

func labHost(lab *rig) hostSpec { return hostSpec{"lab", map[string]string{"env": "dev"}, lab.sup} }

// hostRowOf is the screen line of instance local on host.
func hostRowOf(screen, host, local string) string {
	for _, l := range strings.Split(screen, "\n") {
		f := strings.Fields(strings.TrimLeft(l, "│ ✓⚠"))
		if len(f) > 1 && f[0] == host && f[1] == local {
			return l
		}
	}
	return ""
}

// TestConsoleOverHosts: the console over a fleet of two real engines: a
// HOST column, names without their host, logs of
// each host's instance, a task and a stop routed to the selected row's
// host only, the filter by label and the sort by host, describe naming
// host and labels, and a host that stops answering kept, drawn
// unreachable with when it was last seen.
func TestConsoleOverHosts(t *testing.T) {
	hosts, edge, lab := twoHosts(t)
	c := newConsole(t, hosts.fleet, Options{}, 120, 40)
	s := c.waitScreen("both hosts' rows", func(s string) bool {
		return hostRowOf(s, "edge-1", "echo") != "" && hostRowOf(s, "lab", "echo") != "" && hostRowOf(s, "edge-1", "ticker") != ""
	})
	if !regexp.MustCompile(`HOST▲\s+NAME\s+STATE`).MatchString(s) {
		t.Fatalf("no HOST column before NAME:\n%s", s)
	}
	// The first row, edge-1/echo: its state changes come from its host's
	// history; edge-1/ticker's log pane has its lines.
	c.press("5")
	c.waitScreen("edge-1/echo's events", func(s string) bool {
		return strings.Contains(lineWithText(s, "1 Logs"), "edge-1/echo") && strings.Contains(s, "registered (pid")
	})
	c.press("1", "j")
	c.waitScreen("edge-1/ticker's log lines", func(s string) bool {
		return strings.Contains(lineWithText(s, "1 Logs"), "edge-1/ticker") && strings.Contains(s, "tick sent")
	})
	c.press("k")

	// A task to the selected row goes to its host and comes back with its RTT.
	c.press("t")
	c.waitFor("Send a task to edge-1/echo")
	c.typeText("to the edge")
	c.press("enter")
	c.waitFor("edge-1/echo answered task 1 in", "content=to the edge")

	// Filter by label: only lab's rows.
	c.press("/")
	c.typeText("env=dev")
	c.press("enter")
	s = c.waitScreen("only lab's rows", func(s string) bool {
		return hostRowOf(s, "lab", "echo") != "" && hostRowOf(s, "edge-1", "echo") == ""
	})
	if !strings.Contains(s, "/env=dev 1/3") {
		t.Fatalf("the title does not show the filter and its count:\n%s", s)
	}
	// Stop the selected row: lab's echo, not edge-1's.
	c.press("x")
	c.waitFor("Stop lab/echo?")
	c.press("y")
	lab.waitState("echo", supervisor.StateStopped)
	for _, st := range supervisortest.SnapshotOf(t, edge.sup) {
		if st.State != supervisor.StateRunning {
			t.Fatalf("stopping lab/echo reached edge-1: %s is %s", st.Instance, st.State)
		}
	}
	c.waitScreen("lab/echo stopped", func(s string) bool { return strings.Contains(hostRowOf(s, "lab", "echo"), "■ stopped") })
	c.press("esc") // the filter goes

	// Sort by host, descending: lab first.
	c.press(":")
	c.typeText("sort host desc")
	c.press("enter")
	s = c.waitScreen("sorted by HOST▼", func(s string) bool { return strings.Contains(s, "HOST▼") })
	if i, j := strings.Index(s, hostRowOf(s, "lab", "echo")), strings.Index(s, hostRowOf(s, "edge-1", "echo")); i < 0 || j < 0 || i > j {
		t.Fatalf("lab not above edge-1 by host descending:\n%s", s)
	}

	// :filter takes the same filter: the host by name.
	c.press(":")
	c.typeText("filter host=edge-1")
	c.press("enter")
	c.waitScreen("only edge-1's rows", func(s string) bool {
		return hostRowOf(s, "edge-1", "ticker") != "" && hostRowOf(s, "lab", "echo") == ""
	})
	c.press(":")
	c.typeText("filter")
	c.press("enter")
	c.waitScreen("every row again", func(s string) bool { return hostRowOf(s, "lab", "echo") != "" })

	// lab stops answering: its row stays, drawn unreachable, and the
	// detail pane says so whatever the tab.
	c.press("g") // lab/echo, first by host descending
	c.waitScreen("lab/echo selected", func(s string) bool { return strings.Contains(lineWithText(s, "1 Logs"), "lab/echo") })
	hosts.unserve("lab")
	hosts.waitHost("lab", true)
	s = c.waitScreen("lab unreachable", func(s string) bool {
		return strings.Contains(hostRowOf(s, "lab", "echo"), "unreachable, last seen") && strings.Contains(s, "⚠ host lab unreachable, last seen")
	})
	// Acting on it is refused at once, saying why, rather than asked and
	// then left to time out on a host that does not answer.
	c.press("s")
	c.waitFor("start lab/echo: not sent, host lab unreachable, last seen")
	c.press("t")
	c.waitFor("task to lab/echo: not sent, host lab unreachable")
	if s := c.screen(); strings.Contains(s, "Send a task to lab/echo") {
		t.Fatalf("the task form opened for an unreachable host:\n%s", s)
	}
	// Marked with a row of a host that answers, it is left out and said so;
	// the other is restarted.
	c.press("space", "j", "space", "r")
	c.waitFor("Restart 2 instances")
	c.press("y")
	c.waitFor("restarted 1 instance in", "lab/echo: not sent, host lab unreachable")
	c.press("esc", "g") // the marks go; lab/echo again
	c.waitScreen("marks cleared, lab/echo selected", func(s string) bool {
		return !strings.Contains(s, "marked") && strings.Contains(lineWithText(s, "1 Logs"), "lab/echo")
	})
	c.press("4")
	c.waitFor("⚠ host lab unreachable, last seen")
	c.press("d")
	s = c.waitFor("labels", "env=dev", "reachable")
	if !strings.Contains(strings.Join(strings.Fields(s), " "), "unreachable, last seen") {
		t.Fatalf("describe does not say the host is unreachable:\n%s", s)
	}
	c.press("esc")
	hosts.serve(labHost(lab))
	hosts.waitHost("lab", false)
	// Its ⚠ goes from the row and the panes (the footer's last refusal
	// may still be shown: it is not waited out).
	c.waitScreen("lab answering again", func(s string) bool {
		return !strings.Contains(s, "⚠") && !strings.Contains(hostRowOf(s, "lab", "echo"), "last seen")
	})
}

// lineWithText is the first screen line holding text.
func lineWithText(screen, text string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, text) {
			return l
		}
	}
	return ""
}
