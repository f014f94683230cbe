// Package form is the small task form opened by t: a task id and its content, sent to the selected plugin.
package form

import (
	"fmt"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/tui/components/confirm"
	"github.com/plugvisor/plugvisor/tui/components/input"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/keys"
	"github.com/plugvisor/plugvisor/tui/render"
)

// Model is an open form. It takes every key while open, so typing q or s
// into it never reaches the console's bindings.
type Model struct {
	Target  string // plugin name or instance id
	id      input.Model
	content input.Model
	field   int // 0: id, 1: content
	err     string
}

// Result is what a key did to the form.
type Result int

// Results.
const (
	Editing Result = iota
	Submit
	Cancel
)

// Last is the task last sent to a plugin, which its form opens with.
type Last struct{ ID, Content string }

// Memory is the last task sent to each plugin: opening the form for one
// plugin does not bring another's id and content along.
type Memory map[string]Last

// Of is what the form for plugin opens with: its last task, or id 1.
func (m Memory) Of(plugin string) Last {
	if l, ok := m[plugin]; ok {
		return l
	}
	return Last{ID: "1"}
}

// Remember keeps the task just sent to plugin.
func (m Memory) Remember(plugin string, id uint32, content string) {
	m[plugin] = Last{ID: strconv.FormatUint(uint64(id), 10), Content: content}
}

// New opens a form for target with last's id and content.
func New(c *pvctx.Context, target string, last Last) *Model {
	m := &Model{Target: target}
	// The placeholder is words, not a number: a faint "1" in an empty field
	// reads as the id it would send, and enter then refuses it.
	m.id = input.New("id      ", "a number")
	m.id.Limit = 10
	m.id.SetValue(last.ID)
	m.content = input.New("content ", "what to send")
	m.content.SetValue(last.Content)
	m.field = 1
	m.focus()
	return m
}

func (m *Model) focus() {
	m.id.Blur()
	m.content.Blur()
	if m.field == 0 {
		m.id.Focus()
	} else {
		m.content.Focus()
	}
}

// Update handles one message while the form is open.
func (m *Model) Update(msg tea.Msg) Result {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "esc", "ctrl+c":
			return Cancel
		case "tab", "shift+tab", "up", "down":
			m.field = 1 - m.field
			m.focus()
			return Editing
		case "enter":
			if _, err := m.ID(); err != nil {
				m.err, m.field = err.Error(), 0
				m.focus()
				return Editing
			}
			return Submit
		}
	}
	if m.field == 0 {
		if k, ok := msg.(tea.KeyPressMsg); ok && !idKey(k) {
			m.err = "a task id is a number"
			return Editing
		}
		m.id.Update(msg)
	} else {
		m.content.Update(msg)
	}
	m.err = ""
	return Editing
}

// idKey reports whether k may edit the id field: digits and editing keys,
// not letters, so a mistyped id is refused as it is typed.
func idKey(k tea.KeyPressMsg) bool {
	if t := k.Key().Text; t != "" {
		return strings.Trim(t, "0123456789") == ""
	}
	return true
}

// ID is the task id typed, checked.
func (m *Model) ID() (uint32, error) {
	s := strings.TrimSpace(m.id.Value())
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("task id must be a number from 0 to %d, not %q", uint32(1<<32-1), s)
	}
	return uint32(n), nil
}

// Content is the task content typed.
func (m *Model) Content() string { return m.content.Value() }

// Help lists the form's keys for the footer.
func (m *Model) Help() keys.Input {
	return keys.Input{keys.Hint("tab", "next field"), keys.Hint("enter", "send"), keys.Hint("esc", "cancel")}
}

// View draws the form as a box at most w cells wide.
func (m *Model) View(c *pvctx.Context, w int) []string {
	st := c.Styles
	bw := min(64, w)
	lines := []string{"", m.id.View(st.InputStyles(m.field == 0), bw-4), m.content.View(st.InputStyles(m.field == 1), bw-4), ""}
	if m.err != "" {
		lines = append(lines, st.Error.Render(m.err))
	} else {
		lines = append(lines, st.Faint.Render("enter sends · tab switches field · esc cancels"))
	}
	return confirm.Box(c, st.Title.Render("Send a task to ")+st.Accent.Render(render.Sanitize(m.Target)), lines, bw)
}
