package footer

import (
	"charm.land/bubbles/v2/key"

	"github.com/plugvisor/plugvisor/tui/render"
)

// hints is the help line for bindings in w cells. When they do not all
// fit, hints are dropped from the end of the list, except help and quit:
// those two always stay, since they are how an operator finds the rest and
// gets out.
func (m *Model) hints(bindings []key.Binding, w int) string {
	var kept, pinned []key.Binding
	for _, b := range bindings {
		if isPinned(b) {
			pinned = append(pinned, b)
		} else {
			kept = append(kept, b)
		}
	}
	m.Help.SetWidth(0) // no cut of its own: what fits is chosen here
	for n := len(kept); n > 0; n-- {
		line := m.Help.ShortHelpView(append(kept[:n:n], pinned...))
		if render.Width(line) <= w {
			return line
		}
	}
	return m.Help.ShortHelpView(pinned)
}

func isPinned(b key.Binding) bool {
	d := b.Help().Desc
	return d == "help" || d == "quit"
}
