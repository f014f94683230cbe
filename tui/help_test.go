package tui

import (
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/tui/components/cmdline"
	"github.com/plugvisor/plugvisor/tui/components/plugins"
	"github.com/plugvisor/plugvisor/tui/render"
)

// helpText is everything the help shows, scrolled through from top to
// bottom with j, read from the screen.
func helpText(t *testing.T, c *console) string {
	t.Helper()
	c.press("?")
	s := c.waitFor("Keys", "? or esc closes")
	var seen strings.Builder
	seen.WriteString(s)
	for i := 0; i < 200 && !strings.Contains(s, "all shown · "+helpCloseHint) && !endShown(s); i++ {
		prev := s
		c.press("j")
		s = c.waitScreen("help scrolled", func(s string) bool { return s != prev })
		seen.WriteString(s)
	}
	return seen.String()
}

// endShown: the position line says the last line is on screen.
func endShown(s string) bool {
	for _, l := range strings.Split(s, "\n") {
		if i := strings.Index(l, " of "); i > 0 && strings.Contains(l, "–") && strings.Contains(l, "scroll") {
			f := strings.Fields(l[strings.Index(l, "–")+len("–"):])
			if len(f) >= 3 && f[0] == f[2] {
				return true
			}
		}
	}
	return false
}

// TestHelpAt80x24 shows every key, command, column explanation and the
// mouse lines at 80x24, scrolling through them, with no line of the help
// cut.
func TestHelpAt80x24(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{}, 80, 24)
	c.waitFor("ticker")
	all := helpText(t, c)
	var want []string
	for _, g := range c.m.c.Keys.Groups() {
		for _, b := range g {
			want = append(want, b.Help().Key+" "+b.Help().Desc)
		}
	}
	want = append(want, cmdline.Usage()...)
	explained := map[string]bool{}
	for _, c := range columnHelp {
		explained[c[0]] = true
		want = append(want, c[1])
	}
	for _, col := range plugins.ColumnTitles() {
		if !explained[col] {
			t.Errorf("column %s is not explained in the help", col)
		}
	}
	want = append(want, "<1s/331µs", "env=prod,role=edge", ":filter alone clears it",
		"the wheel scrolls", "hold shift while dragging")
	flat := strings.Join(strings.Fields(strings.ReplaceAll(all, "│", " ")), " ")
	for _, w := range want {
		if !strings.Contains(flat, strings.Join(strings.Fields(w), " ")) {
			t.Errorf("help never showed %q", w)
		}
	}
	if strings.Contains(all, "…") {
		t.Errorf("a help line is cut:\n%s", all)
	}
	// g and G jump to the ends; esc closes.
	c.press("G")
	c.waitScreen("help at its end", endShown)
	c.press("g")
	c.waitFor("1–")
	c.press("esc")
	c.waitScreen("help closed", func(s string) bool { return !strings.Contains(s, "? or esc closes") })
}

// TestHelpColumnsReflow: wide, the key groups sit side by side; narrow,
// they stack, and no line is wider than the width.
func TestHelpColumnsReflow(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{}, 80, 24)
	c.waitFor("ticker")
	groups := c.m.c.Keys.Groups()
	plain := func(k, d string) string { return k + d }
	for _, w := range []int{36, 76, 96} {
		lines := keyColumns(groups, w, plain)
		for _, l := range lines {
			if render.Width(l) > w {
				t.Errorf("width %d: line %q is %d wide", w, l, render.Width(l))
			}
		}
		first := lines[0]
		if w == 36 && strings.Count(first, "   ") > 1 && strings.Contains(first, "start") {
			t.Errorf("width 36: groups side by side: %q", first)
		}
		if w == 96 && !strings.Contains(first, "start") {
			t.Errorf("width 96: groups not side by side: %q", first)
		}
	}
}
