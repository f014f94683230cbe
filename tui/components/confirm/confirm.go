// Package confirm is a yes/no dialog that holds the keyboard until answered.
package confirm

import (
	"strings"

	tea "charm.land/bubbletea/v2"

	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
)

// Model is an open dialog. Action is what the root does on yes; the dialog
// only carries it.
type Model struct {
	Title   string
	Message string
	Action  any
}

// Answer is the outcome of a key press.
type Answer int

// Answers.
const (
	Pending Answer = iota
	Yes
	No
)

// Update maps a key to an answer: y or enter says yes; n, esc or q says no.
// Every other key is swallowed so nothing behind the dialog reacts.
func (m *Model) Update(msg tea.KeyPressMsg) Answer {
	switch msg.String() {
	case "y", "Y", "enter":
		return Yes
	case "n", "N", "esc", "q", "ctrl+c":
		return No
	}
	return Pending
}

// View draws the dialog box at most w cells wide.
func (m *Model) View(c *pvctx.Context, w int) []string {
	st := c.Styles
	bw := min(max(render.Width(m.Message), render.Width(m.Title), 30)+4, w)
	body := []string{"", st.Text.Render(m.Message), "", st.KeyHint.Render("y/enter") + st.KeyDesc.Render(" yes   ") +
		st.KeyHint.Render("n/esc") + st.KeyDesc.Render(" no")}
	return Box(c, st.Title.Render(m.Title), body, bw)
}

// Box draws lines in a bordered, padded box bw cells wide, for dialogs and
// forms drawn over the panes.
func Box(c *pvctx.Context, title string, lines []string, bw int) []string {
	st := c.Styles
	return strings.Split(render.Frame(st.FocusBorder, title, lines, bw, len(lines)+2), "\n")
}
