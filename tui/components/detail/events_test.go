package detail

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/themes"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

func plain(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.TrimRight(ansi.Strip(l), " ")
	}
	return out
}

// TestEventsWrapTheWholeReason: on a narrow pane a long reason is all
// there, wrapped under its transition, and no line is wider than the pane.
func TestEventsWrapTheWholeReason(t *testing.T) {
	s := state.New()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	reason := "verify: sha256 mismatch: want 4f2a9c0d1e8b7a6f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7, got 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	s.Apply([]supervisor.Event{
		{Type: supervisor.EventState, Time: at, Plugin: "chaos", Instance: "chaos", Prev: "running", State: "exited", Reason: reason,
			Exit: &supervisor.Exit{Code: -1, Signal: "killed", Limit: "memory_max", Time: at}},
		{Type: supervisor.EventState, Time: at, Plugin: "echo", Instance: "echo", Prev: "stopped", State: "starting", Reason: "configured"},
	})
	c := pvctx.New(themes.Default(), time.Now)
	const w = 40
	var v eventsView
	lines := plain(v.lines(c, s, "chaos", w, 20))
	text := strings.Join(lines, "\n")
	if !strings.HasPrefix(text, "03:04:05.000 chaos running → ○ exited\n    signal killed at memory_max\n    verify:") || strings.Contains(text, "echo") {
		t.Fatalf("head of chaos's events:\n%s", text)
	}
	if got := strings.Join(strings.Fields(strings.Join(lines[2:len(lines)-1], " ")), " "); !strings.Contains(strings.ReplaceAll(got, " ", ""), strings.ReplaceAll(reason, " ", "")) {
		t.Fatalf("the reason is not all there:\n%s", text)
	}
	for _, l := range lines {
		if render.Width(l) > w {
			t.Fatalf("line %q is wider than %d", l, w)
		}
	}
	v.all = true
	if text := strings.Join(plain(v.lines(c, s, "chaos", 80, 20)), "\n"); !strings.Contains(text, "echo stopped → ◐ starting") ||
		!strings.Contains(text, "exited  signal killed at memory_max") || !strings.Contains(text, "all plugins · a: selected plugin · 2 state changes") {
		t.Fatalf("all plugins:\n%s", text)
	}
}

// TestSupervisorLogScrollsAndFollows: scrolling up pins the view on a line
// however many come after; scrolling back down follows again.
func TestSupervisorLogScrollsAndFollows(t *testing.T) {
	s := state.New()
	logAt := func(i int) supervisor.Event {
		return supervisor.Event{Type: supervisor.EventSupervisorLog, Time: time.Unix(int64(i), 0),
			SupervisorLog: &supervisor.SupervisorLog{Level: "WARN", Message: fmt.Sprintf("line-%03d", i), Attrs: "k=v"}}
	}
	for i := range 100 {
		s.Apply([]supervisor.Event{logAt(i)})
	}
	c := pvctx.New(themes.Default(), time.Now)
	var v supLogView
	last := func() string { l := plain(v.lines(c, s, 60, 6)); return l[len(l)-2] }
	if got := last(); !strings.Contains(got, "WARN  line-099  k=v") {
		t.Fatalf("newest line %q", got)
	}
	v.scroll(s.SupervisorLog(), everything, 10)
	s.Apply([]supervisor.Event{logAt(100)})
	if got := last(); !strings.Contains(got, "line-089") {
		t.Fatalf("pinned view shows %q, want line-089", got)
	}
	v.scroll(s.SupervisorLog(), everything, -100)
	if got := last(); v.pinned || !strings.Contains(got, "line-100") {
		t.Fatalf("back at the bottom: %q (pinned %v)", got, v.pinned)
	}
}

// TestSupervisorLogWrapsAtSpaces: a long line wraps between its key=value
// pairs, under its message, not inside a word.
func TestSupervisorLogWrapsAtSpaces(t *testing.T) {
	c := pvctx.New(themes.Default(), time.Now)
	e := supervisor.Event{Type: supervisor.EventSupervisorLog, Time: time.Unix(0, 0).UTC(), SupervisorLog: &supervisor.SupervisorLog{
		Level: "INFO", Message: "state", Attrs: "plugin=ticker instance=ticker from=stopped to=starting reason=configured"}}
	got := strings.Join(plain(supLogLines(c, &e, 50)), "\n")
	want := "00:00:00.000 INFO  state  plugin=ticker\n" +
		"                   instance=ticker from=stopped\n" +
		"                   to=starting reason=configured"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
