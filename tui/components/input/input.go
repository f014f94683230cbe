// Package input is a one-line text input: the console's own, small enough to need no clipboard dependency and with a cursor that never blinks (an idle console runs no timers).
package input

import (
	"strings"
	"unicode"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/plugvisor/plugvisor/tui/render"
)

// Model is a text input. It edits only while focused.
type Model struct {
	Prompt      string
	Placeholder string
	Limit       int // most runes accepted; 0 for no limit

	value   []rune
	pos     int
	focused bool
}

// New makes an input with a prompt and a placeholder.
func New(prompt, placeholder string) Model { return Model{Prompt: prompt, Placeholder: placeholder} }

// Value is the text typed.
func (m *Model) Value() string { return string(m.value) }

// SetValue replaces the text and puts the cursor at its end.
func (m *Model) SetValue(s string) {
	m.value = []rune(s)
	m.pos = len(m.value)
}

// Focus and Blur say whether keys edit the input.
func (m *Model) Focus() { m.focused = true }

// Blur stops editing.
func (m *Model) Blur() { m.focused = false }

// Focused reports whether the input edits.
func (m *Model) Focused() bool { return m.focused }

// Update edits the text on a key press or a paste. It reports whether the
// message was an edit the input used.
func (m *Model) Update(msg tea.Msg) bool {
	if !m.focused {
		return false
	}
	switch msg := msg.(type) {
	case tea.PasteMsg:
		m.insert(msg.Content)
		return true
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return false
}

func (m *Model) key(k tea.KeyPressMsg) bool {
	switch k.String() {
	case "left", "ctrl+b":
		m.pos = max(m.pos-1, 0)
	case "right", "ctrl+f":
		m.pos = min(m.pos+1, len(m.value))
	case "home", "ctrl+a":
		m.pos = 0
	case "end", "ctrl+e":
		m.pos = len(m.value)
	case "backspace", "ctrl+h":
		if m.pos > 0 {
			m.value = append(m.value[:m.pos-1], m.value[m.pos:]...)
			m.pos--
		}
	case "delete", "ctrl+d":
		if m.pos < len(m.value) {
			m.value = append(m.value[:m.pos], m.value[m.pos+1:]...)
		}
	case "ctrl+u":
		m.value, m.pos = m.value[m.pos:], 0
	case "ctrl+k":
		m.value = m.value[:m.pos]
	case "ctrl+w", "alt+backspace":
		m.deleteWord()
	default:
		if k.Text == "" || k.Mod&(tea.ModCtrl|tea.ModAlt) != 0 {
			return false
		}
		m.insert(k.Text)
	}
	return true
}

func (m *Model) insert(s string) {
	var add []rune
	for _, r := range s {
		if unicode.IsPrint(r) {
			add = append(add, r)
		} else if r == '\t' || r == '\n' {
			add = append(add, ' ')
		}
	}
	if m.Limit > 0 {
		add = add[:max(min(len(add), m.Limit-len(m.value)), 0)]
	}
	m.value = append(m.value[:m.pos], append(add, m.value[m.pos:]...)...)
	m.pos += len(add)
}

func (m *Model) deleteWord() {
	i := m.pos
	for i > 0 && m.value[i-1] == ' ' {
		i--
	}
	for i > 0 && m.value[i-1] != ' ' {
		i--
	}
	m.value = append(m.value[:i], m.value[m.pos:]...)
	m.pos = i
}

// Styles draw the input.
type Styles struct {
	Prompt, Text, Placeholder, Cursor lipgloss.Style
}

// View draws the input w cells wide, scrolled so the cursor is visible.
func (m *Model) View(st Styles, w int) string {
	prompt := st.Prompt.Render(m.Prompt)
	tw := max(w-render.Width(m.Prompt), 1)
	if len(m.value) == 0 {
		ph := ""
		if m.focused {
			ph = st.Cursor.Render(" ")
			if m.Placeholder != "" {
				r := []rune(m.Placeholder)
				ph = st.Cursor.Render(string(r[0])) + st.Placeholder.Render(string(r[1:]))
			}
		} else if m.Placeholder != "" {
			ph = st.Placeholder.Render(m.Placeholder)
		}
		return render.Fit(prompt+ph, w)
	}
	// Window of runes around the cursor (one cell per rune is close enough
	// for the ids, names and short contents typed here).
	start := max(m.pos-tw+1, 0)
	end := min(start+tw, len(m.value))
	var b strings.Builder
	b.WriteString(prompt)
	b.WriteString(st.Text.Render(string(m.value[start:min(m.pos, end)])))
	if m.focused {
		under := " "
		if m.pos < len(m.value) {
			under = string(m.value[m.pos])
		}
		b.WriteString(st.Cursor.Render(under))
		if m.pos+1 <= end {
			b.WriteString(st.Text.Render(string(m.value[min(m.pos+1, end):end])))
		}
	} else if m.pos < end {
		b.WriteString(st.Text.Render(string(m.value[m.pos:end])))
	}
	return render.Fit(b.String(), w)
}
