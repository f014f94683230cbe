package cmdline

import (
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

func key(name string) tea.KeyPressMsg {
	switch name {
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	}
	return tea.KeyPressMsg{Code: []rune(name)[0], Text: name}
}

// TestHistoryWalk: ↑ walks back from the newest line, ↓ forward to the
// draft being typed; enter keeps the line run, once if run twice.
func TestHistoryWalk(t *testing.T) {
	h := NewHistory([]string{"ping echo", "stop ticker"})
	m := New(h)
	m.Update(key("x"), nil, nil)
	for _, step := range []struct{ key, want string }{
		{"up", "stop ticker"}, {"up", "ping echo"}, {"up", "ping echo"},
		{"down", "stop ticker"}, {"down", "x"}, {"down", "x"},
	} {
		m.Update(key(step.key), nil, nil)
		if got := m.Value(); got != step.want {
			t.Fatalf("after %s: %q, want %q", step.key, got, step.want)
		}
	}
	m.Update(key("up"), nil, nil)
	if m.Update(key("enter"), nil, nil) != Run {
		t.Fatal("enter did not run")
	}
	New(h).Update(key("enter"), nil, nil) // empty: not kept
	if got := h.Lines(); !slices.Equal(got, []string{"ping echo", "stop ticker"}) {
		t.Fatalf("history %q", got)
	}
}

// TestHistoryBounds: the oldest entries go past MaxHistory, and a long
// line is kept cut to MaxHistoryLine bytes.
func TestHistoryBounds(t *testing.T) {
	var lines []string
	for i := range MaxHistory + 10 {
		lines = append(lines, "ping p"+strings.Repeat("x", i%3)+string(rune('a'+i%26))+itoaTest(i))
	}
	h := NewHistory(lines)
	if n := len(h.Lines()); n != MaxHistory {
		t.Fatalf("%d entries, want %d", n, MaxHistory)
	}
	if h.Lines()[MaxHistory-1] != lines[len(lines)-1] {
		t.Fatal("the newest entry is not last")
	}
	h.Add(strings.Repeat("y", 3*MaxHistoryLine))
	if l := h.Lines()[MaxHistory-1]; len(l) != MaxHistoryLine {
		t.Fatalf("a long line kept as %d bytes", len(l))
	}
}

func itoaTest(i int) string { return strings.Repeat("0", i/10) }

func TestParseExport(t *testing.T) {
	c, err := Parse("export csv /tmp/my records.csv")
	if err != nil || c.Verb != "export" || c.Name != "csv" || c.Content != "/tmp/my records.csv" {
		t.Fatalf("%+v %v", c, err)
	}
	for _, bad := range []string{"export", "export json", "export xml out.xml"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
