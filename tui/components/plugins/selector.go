package plugins

import (
	"github.com/plugvisor/plugvisor/internal/hostsel"
	"github.com/plugvisor/plugvisor/supervisor"
)

// A filter made only of KEY=VALUE (or KEY!=VALUE) terms, comma-separated,
// selects by host and label: it is read as a fleet selector
// (internal/hostsel), the text plugvisor fleet ctl takes, loosely, since
// it is typed a key at a time. Any other filter is the fuzzy one.

// parseSelector reads q as a selector; ok is false when q is not one.
func parseSelector(q string) (hostsel.Selector, bool) { return hostsel.ParseLoose(q) }

// selects reports whether sel picks st's host.
func selects(sel hostsel.Selector, st supervisor.PluginStatus) bool {
	return sel.Match(st.Host, st.HostLabels)
}
