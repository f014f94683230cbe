package plugins

import (
	"cmp"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// An API over many hosts (a fleet) sets PluginStatus.Host and qualifies
// names as HOST/NAME. The table then shows a HOST column first and draws
// NAME without the host, which the HOST column already says; ids, the
// selection, marks and every action keep the qualified name.

const hostTitle = "HOST"

// hostColumn is the HOST column's index in columns().
var hostColumn, _ = columnIndex(hostTitle)

// maxHostWidth bounds the HOST column: host names are NATS subject tokens,
// which may be long.
const maxHostWidth = 24

// unreachableMark leads the host of a host that stopped answering: a
// symbol, not colour alone.
const unreachableMark = "⚠ "

// localName is the instance id as its own host names it.
func localName(st supervisor.PluginStatus) string { return local(st, st.Instance) }

// local is name (the status's plugin or instance) without its host.
func local(st supervisor.PluginStatus, name string) string { return render.Local(st.Host, name) }

// byName orders by the name the NAME column draws, without the host:
// every host's echo before any ticker; the table's ties then go by
// qualified instance, so by host.
func byName(a, b *state.Plugin, _ time.Time) int {
	return cmp.Or(cmp.Compare(local(a.Status, a.Status.Name), local(b.Status, b.Status.Name)),
		state.Natural(localName(a.Status), localName(b.Status)))
}

// hostWidth is the HOST column's width, 0 when no instance names a host.
// It keeps room for the unreachable mark whether or not a host is down,
// so that a host going away does not shift every column of every row.
func hostWidth(s *state.Store) int {
	w := 0
	for _, id := range s.Order() {
		st := s.Plugin(id).Status
		if st.Host == "" {
			continue
		}
		w = max(w, len(hostTitle), min(render.Width(unreachableMark+st.Host), maxHostWidth))
	}
	return w
}

func hostText(st supervisor.PluginStatus) string {
	if st.HostUnreachable {
		return unreachableMark + st.Host
	}
	return st.Host
}

func hostCell(p *state.Plugin, _ *env) string { return render.OrDash(hostText(p.Status)) }

// byHost orders by host alone: the table's ties go by instance, in
// natural order, whichever the direction.
func byHost(a, b *state.Plugin, _ time.Time) int { return state.Natural(a.Status.Host, b.Status.Host) }

// unreachable is the row's words for a host that stopped answering.
func unreachable(st supervisor.PluginStatus, now time.Time) string {
	return render.Unreachable(st.HostUnreachable, st.HostLastSeen, now)
}

// stale are the columns whose figures an unreachable host can no longer
// update, HEARTBEAT and every column after it: from the first of them
// shown, a row of such a host says when the host was last seen instead.
var stale = func() map[string]bool {
	out := map[string]bool{}
	from := false
	for _, c := range columns(0) {
		from = from || c.title == "HEARTBEAT"
		if from && c.title != hostTitle {
			out[c.title] = true
		}
	}
	return out
}()

// unreachablePrefix is what a row too narrow for render.Unreachable's
// words leaves out: the ⚠ before the host says it.
const unreachablePrefix = "unreachable, "

// shownColumns are the columns for the store: HOST first when any
// instance names a host, else none.
func shownColumns(s *state.Store) []column {
	all := columns(nameWidth(s))
	hw := hostWidth(s)
	out := make([]column, 0, len(all))
	for _, c := range all {
		if c.title != hostTitle {
			out = append(out, c)
			continue
		}
		if hw > 0 {
			c.width = hw
			out = append([]column{c}, out...)
		}
	}
	return out
}
