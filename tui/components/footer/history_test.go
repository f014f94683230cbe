package footer

import (
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/themes"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
)

// The m overlay asks for the history's lines on every frame and key: they
// are wrapped once per message said, width and theme, not per call.
func TestHistoryLinesCached(t *testing.T) {
	c := pvctx.New(themes.Default(), time.Now)
	m := New(c)
	for range MaxHistory {
		m.Set(Info, strings.Repeat("a long reason ", 100))
	}
	first := m.HistoryLines(c, 80)
	if again := m.HistoryLines(c, 80); &again[0] != &first[0] {
		t.Fatal("the same history at the same width is wrapped again")
	}
	if w := m.HistoryLines(c, 60); &w[0] == &first[0] {
		t.Error("a new width keeps the old wrapping")
	}
	m.Set(Warn, "one more")
	if got := m.HistoryLines(c, 60); !strings.Contains(got[len(got)-1], "one more") {
		t.Error("a new message is not shown")
	}
	c.SetTheme(themes.Default())
	before := m.HistoryLines(c, 60)
	c.SetTheme(themes.Default())
	if after := m.HistoryLines(c, 60); &after[0] == &before[0] {
		t.Error("a theme switch keeps the old styles")
	}
}

func BenchmarkHistoryLines(b *testing.B) {
	c := pvctx.New(themes.Default(), time.Now)
	m := New(c)
	for range MaxHistory {
		m.Set(Info, strings.Repeat("a long reason ", 100))
	}
	for b.Loop() {
		m.HistoryLines(c, 118)
	}
}
