package tui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/tui/components/footer"
	"github.com/plugvisor/plugvisor/tui/render"
)

// hostDown says, over many hosts, that the host running name (an instance
// id or a plugin name) has stopped answering, and since when; "" when it
// answers or no host is named. Its rows are its last known state: an
// action on it is refused at once, as on a lost connection, rather than
// confirmed on that state and then left to time out.
func (m *Model) hostDown(name string) string {
	for _, id := range m.store.Order() {
		st := m.store.Plugin(id).Status
		if (id == name || st.Name == name) && st.HostUnreachable {
			return "host " + render.Sanitize(st.Host) + " " + render.Unreachable(true, st.HostLastSeen, m.shownTime())
		}
	}
	return ""
}

// refuseHostDown reports what as not tried when its host does not answer,
// and whether it did.
func (m *Model) refuseHostDown(what, name string) (tea.Cmd, bool) {
	why := m.hostDown(name)
	if why == "" {
		return nil, false
	}
	return m.flash(footer.Error, what+": not sent, "+why), true
}
