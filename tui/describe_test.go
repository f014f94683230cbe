package tui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

func statusOf(t *testing.T, r *rig, instance string) supervisor.PluginStatus {
	t.Helper()
	for _, st := range supervisortest.SnapshotOf(t, r.sup) {
		if st.Instance == instance {
			return st
		}
	}
	t.Fatalf("no instance %s", instance)
	return supervisor.PluginStatus{}
}

// waitClipboard waits until the console has written an OSC 52 sequence
// setting the clipboard to text.
func (c *console) waitClipboard(text string) {
	c.t.Helper()
	seq := []byte(ansi.SetSystemClipboard(text))
	teatest.WaitFor(c.t, c.tm.Output(), func(b []byte) bool { return bytes.Contains(b, seq) },
		teatest.WithDuration(30*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
}

// cursorTo moves the describe view's cursor down to the entry labelled
// label.
func (c *console) cursorTo(label string) {
	c.t.Helper()
	for range 80 {
		got := ""
		c.inspect(func(m *Model) {
			if m.describe != nil {
				if e, ok := m.describe.Selected(); ok {
					got = e.Label
				}
			}
		})
		if got == label {
			return
		}
		c.press("j")
	}
	c.t.Fatalf("the describe view has no entry %q", label)
}

// TestDescribe: d opens the describe view at 80x24 with every value
// whole (the sha256 on one line, a long exit reason wrapped), it scrolls
// to the counters, y copies the value under the cursor with OSC 52, and
// esc, d and q each close it.
func TestDescribe(t *testing.T) {
	r := startRigWith(t, func(tb testing.TB) string {
		return pluginTOML(tb, "chaos", false, "") +
			pluginTOML(tb, "echo", true, "restart = \"on-failure\"\nenv = { GREETING = \"s3cret-value\", A_FLAG = \"1\" }") +
			pluginTOML(tb, "ticker", false, "")
	})
	r.waitState("echo", supervisor.StateRunning)
	ctx := t.Context()
	if err := r.sup.Restart(ctx, "echo"); err != nil { // an exit in the history
		t.Fatal(err)
	}
	r.waitState("echo", supervisor.StateRunning)
	st := statusOf(t, r, "echo")
	if len(st.Exits) == 0 {
		t.Fatal("no exit after a restart")
	}
	c := newConsole(t, r.sup, Options{}, 80, 24)
	c.waitFor("ticker")
	c.press("j", "d")
	s := c.waitFor("Describe echo", "configuration", "sha256", st.SHA256, "restart     on-failure", "env keys    A_FLAG GREETING")
	if strings.Contains(s, "s3cret-value") {
		t.Error("an environment value is shown")
	}
	for i, l := range strings.Split(s, "\n") {
		if w := ansi.StringWidth(l); w != 80 {
			t.Errorf("line %d is %d cells wide: %q", i+1, w, l)
		}
	}
	c.press("G")
	s = c.waitFor("counters", "log writes")
	c.press("g")
	c.waitFor("instances", "1: echo")
	// The exit's reason, whole.
	reason := st.Exits[len(st.Exits)-1].Reason
	c.cursorTo("exit")
	s = c.waitFor("exit history")
	if !strings.Contains(strings.Join(strings.Fields(s), " "), strings.Join(strings.Fields(reason), " ")) {
		t.Errorf("the exit reason %q is not shown whole:\n%s", reason, s)
	}

	c.press("g")
	c.cursorTo("sha256")
	c.press("y")
	c.waitFor("copied sha256 (64B): " + st.SHA256[:20])
	c.waitClipboard(st.SHA256)

	for i, close := range []string{"esc", "d", "q"} {
		if i > 0 {
			c.press("d")
			c.waitFor("Describe echo")
		}
		c.press(close)
		c.waitScreen("describe closed by "+close, func(s string) bool {
			return !strings.Contains(s, "Describe echo") && strings.Contains(s, "1 Logs")
		})
	}
}

// TestCopyFromTabs: y copies the Data tab's selected record, the Tasks
// tab's selected reply and the last log line in view, and says which.
func TestCopyFromTabs(t *testing.T) {
	r := startRig(t, true)
	r.waitState("echo", supervisor.StateRunning)
	r.waitState("ticker", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitFor("ticker")

	c.press(":")
	c.typeText("send echo 5 copy me")
	c.press("enter")
	c.waitFor("echo answered task 5")
	reply := c.copyText()
	if !strings.Contains(reply, `content="copy me"`) {
		t.Fatalf("the reply copies as %q", reply)
	}
	c.press("y")
	c.waitFor("copied task 5 reply")
	c.waitClipboard(reply)

	c.press("g", "1") // chaos writes a stderr line every 50 ms
	c.waitFor("chaos: stderr line")
	c.press("y")
	c.waitFor("copied log line", "chaos: stderr line")

	c.press("G", "2") // ticker's records
	c.waitFor("DATA_TYPE", "seq=")
	c.press("tab", "j") // one older: the selection stays on that record
	want := c.copyText()
	if !strings.HasPrefix(want, "data_type=tick interval=50ms seq=") {
		t.Fatalf("the selected record copies as %q", want)
	}
	c.press("y")
	c.waitFor("copied record ")
	c.waitClipboard(want)
}

// copyText is what y would copy from the detail pane now.
func (c *console) copyText() string {
	var text string
	c.inspect(func(m *Model) {
		if _, s, ok := m.detail.Copy(m.store); ok {
			text = s
		}
	})
	return text
}
