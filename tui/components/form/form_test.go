package form

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/themes"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
)

func press(m *Model, text string) Result {
	var r Result
	for _, c := range text {
		r = m.Update(tea.KeyPressMsg{Code: c, Text: string(c)})
	}
	return r
}

// The form opens on the content; the id field takes digits only and says
// why a letter is refused, and enter with a bad id stays open on the id.
func TestFormIDTakesDigitsOnly(t *testing.T) {
	c := pvctx.New(themes.Default(), time.Now)
	m := New(c, "echo", Last{ID: "1"})
	press(m, "hi q")
	if m.Content() != "hi q" {
		t.Fatalf("content %q: typing q or space must type, not act", m.Content())
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyTab})
	if r := press(m, "2x"); r != Editing || m.err == "" {
		t.Fatalf("a letter in the id: result %v, err %q", r, m.err)
	}
	if id, err := m.ID(); err != nil || id != 12 {
		t.Fatalf("id %d, %v; want 12 (the x refused)", id, err)
	}
	m.id.SetValue("")
	if r := m.Update(tea.KeyPressMsg{Code: tea.KeyEnter}); r != Editing || m.err == "" || m.field != 0 {
		t.Fatalf("enter with an empty id: result %v, err %q, field %d", r, m.err, m.field)
	}
	press(m, "7")
	if r := m.Update(tea.KeyPressMsg{Code: tea.KeyEnter}); r != Submit {
		t.Fatalf("enter with id 7: %v", r)
	}
	if r := m.Update(tea.KeyPressMsg{Code: tea.KeyEscape}); r != Cancel {
		t.Fatalf("esc: %v", r)
	}
}
