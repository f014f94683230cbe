// Package examples lists the example plugins compiled into plugvisor, so `plugvisor plugin <name>` can run them.
package examples

import (
	"github.com/plugvisor/plugvisor/examples/chaos"
	"github.com/plugvisor/plugvisor/examples/echo"
	"github.com/plugvisor/plugvisor/examples/ticker"
)

// Lookup returns the Main of the example plugin called name.
func Lookup(name string) (func(args []string) error, bool) {
	switch name {
	case "chaos":
		return chaos.Main, true
	case "echo":
		return echo.Main, true
	case "ticker":
		return ticker.Main, true
	}
	return nil, false
}

// Names lists the example plugins, sorted.
func Names() []string { return []string{"chaos", "echo", "ticker"} }
