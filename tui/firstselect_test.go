package tui

import (
	"strings"
	"testing"
)

// TestSelectFirst: Options.Select picks the first selection (the demo
// starts on a plugin with output); the operator's keys then move it.
func TestSelectFirst(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{Select: "ticker"}, 120, 40)
	c.waitScreen("ticker selected first", func(s string) bool { return strings.Contains(titleOf(s), "ticker") })
	c.press("k")
	c.waitScreen("echo selected", func(s string) bool { return strings.Contains(titleOf(s), "echo") })
	c.press("g")
	c.waitScreen("chaos selected", func(s string) bool { return strings.Contains(titleOf(s), "chaos") })
}
