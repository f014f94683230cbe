package tui

import (
	"regexp"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/supervisor"
)

// taskRows are the Tasks table's rows on a screen.
func taskRows(screen string) []string {
	var rows []string
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, "● answered") || strings.Contains(l, "◐ pending") || strings.Contains(l, "cancelled") {
			rows = append(rows, l)
		}
	}
	return rows
}

// TestTasksTableAt80Columns: at 80 columns every round trip's RTT is drawn
// whole, and the TOKEN column tells two of this console's tasks apart
// (their tokens share a long prefix).
func TestTasksTableAt80Columns(t *testing.T) {
	r := startRig(t, true)
	r.waitState("echo", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 80, 24)
	c.waitFor("ticker")
	for _, content := range []string{"one", "two"} {
		c.press(":")
		c.typeText("send echo 1 " + content)
		c.press("enter")
		c.waitFor("content=" + content)
	}
	rtt := regexp.MustCompile(`● answered\s+[0-9.]+(ns|µs|ms|s) │$`)
	s := c.waitScreen("two answered rows", func(s string) bool { return len(taskRows(s)) == 2 })
	rows := taskRows(s)
	for _, row := range rows {
		if !rtt.MatchString(row) {
			t.Errorf("RTT cut at 80 columns: %q", row)
		}
	}
	tok := regexp.MustCompile(`\s(…?[0-9a-f-]*c?[0-9a-f]+-\d+|…[-0-9a-z]+)\s`)
	a, b := tok.FindString(rows[0]), tok.FindString(rows[1])
	if a == "" || a == b {
		t.Errorf("the TOKEN column does not tell the rows apart: %q, %q\n%s", a, b, s)
	}
}

// formLine is the task form's line for a field ("id", "content").
func formLine(screen, field string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, field+" ") && strings.Contains(l, "│") && !strings.Contains(l, "WHEN") {
			if i := strings.Index(l, field+" "); i >= 0 {
				return strings.TrimRight(strings.TrimRight(l[i:], " │"), " ")
			}
		}
	}
	return ""
}

// TestTaskFormRemembersPerPlugin: the form opens with the id and content
// last sent to the same plugin, not another's; an emptied id field does not
// read as an id.
func TestTaskFormRemembersPerPlugin(t *testing.T) {
	r := startRig(t, true)
	r.waitState("echo", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitFor("ticker")
	c.press("j", "t") // echo
	c.waitFor("Send a task to echo")
	c.press("tab", "backspace") // the id field, emptied
	s := c.waitScreen("the id emptied", func(s string) bool { return formLine(s, "id") != "id      1" })
	if l := formLine(s, "id"); strings.ContainsAny(l, "0123456789") {
		t.Errorf("an empty id field reads as an id: %q", l)
	}
	c.typeText("7")
	c.press("tab")
	c.typeText("for echo")
	c.press("enter")
	c.waitFor("echo answered task 7")
	c.press("j", "t") // ticker
	s = c.waitFor("Send a task to ticker")
	if l := formLine(s, "content"); strings.Contains(l, "for echo") {
		t.Errorf("ticker's form has echo's content: %q", l)
	}
	if l := formLine(s, "id"); strings.Contains(l, "7") {
		t.Errorf("ticker's form has echo's id: %q", l)
	}
	c.press("esc", "k", "t")
	s = c.waitFor("Send a task to echo")
	if l := formLine(s, "content"); !strings.Contains(l, "for echo") {
		t.Errorf("echo's form forgot its content: %q\n%s", l, s)
	}
	if l := formLine(s, "id"); !strings.Contains(l, "7") {
		t.Errorf("echo's form forgot its id: %q", l)
	}
}

// TestPendingTaskElapsedAndCancel: a pending task's row shows the time it
// has waited, counting up, and c cancels it: the console stops waiting
// (its SendTask's context ends) and the row says cancelled.
func TestPendingTaskElapsedAndCancel(t *testing.T) {
	r := startRig(t, true)
	r.waitState("chaos", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitFor("ticker")
	c.press(":")
	c.typeText("send chaos 8 10m") // sleeps ten minutes before replying
	c.press("enter")
	pending := regexp.MustCompile(`◐ pending\s+(\d+)s │`)
	var first string
	c.waitScreen("a pending row with its elapsed time", func(s string) bool {
		m := pending.FindStringSubmatch(s)
		if m != nil && first == "" {
			first = m[1]
		}
		return m != nil && first != "" && m[1] != first // it ticks
	})
	c.press("c")
	c.waitFor("task to chaos: cancelled")
	// The REPLY column has the engine's words or the call's, whichever
	// came first; the STATUS says cancelled either way.
	c.waitScreen("the row cancelled", func(s string) bool {
		return regexp.MustCompile(`10m\s+.*■ cancelled\s+- │`).MatchString(s)
	})
	var left int
	c.inspect(func(m *Model) { left = len(m.inFlight) })
	if left != 0 {
		t.Fatalf("%d calls still waited for", left)
	}
	c.press("c") // over: nothing to cancel
	c.waitFor("is over: cancelled")
}
