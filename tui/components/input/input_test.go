package input

import (
	"testing"

	tea "charm.land/bubbletea/v2"
)

func key(s string) tea.KeyPressMsg {
	switch s {
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "ctrl+w":
		return tea.KeyPressMsg{Code: 'w', Mod: tea.ModCtrl}
	}
	return tea.KeyPressMsg{Code: []rune(s)[0], Text: s}
}

func TestEditing(t *testing.T) {
	m := New("> ", "")
	if m.Update(key("a")) {
		t.Fatal("edited while blurred")
	}
	m.Focus()
	for _, k := range []string{"h", "e", "l", "o", "left", "l", "backspace", "l"} {
		m.Update(key(k))
	}
	if m.Value() != "hello" {
		t.Fatalf("value %q", m.Value())
	}
	m.SetValue("send echo 1")
	m.Update(key("ctrl+w"))
	if m.Value() != "send echo " {
		t.Fatalf("after ctrl+w: %q", m.Value())
	}
	m.Update(tea.PasteMsg{Content: "a\tb\x1b"})
	if m.Value() != "send echo a b" {
		t.Fatalf("after paste: %q", m.Value())
	}
	m.Limit = 14
	m.Update(key("x"))
	m.Update(key("y"))
	if m.Value() != "send echo a bx" {
		t.Fatalf("limit: %q", m.Value())
	}
}
