package tui

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
	"github.com/plugvisor/plugvisor/tui/components/footer"
)

// reloadRig is a rig whose reload reads a configuration with a plugin
// that has no sha256: the reload fails, and its error offers the file's
// actual hash, ready to paste.
func reloadRig(t *testing.T) (*rig, string) {
	t.Helper()
	exe := supervisortest.Bin("echo")
	sum := supervisortest.SHA256(t, exe)
	var dir string
	e := supervisortest.Start(t, pluginTOML(t, "echo", false, ""), supervisortest.Options{
		Agent: map[string]string{"host": `"testhost"`},
		Supervisor: func(o *supervisor.Options) {
			o.Reload = func() (*registry.Config, error) {
				toml := supervisortest.AgentTOML(dir, map[string]string{"host": `"testhost"`}) +
					fmt.Sprintf("[plugins.echo]\nexec = %q\nauto_start = false\n", exe)
				return registry.Parse(filepath.Join(dir, "config.toml"), []byte(toml))
			}
		},
	})
	dir = e.Dir
	return &rig{t: t, sup: e.Sup, dir: e.Dir, cancel: e.Cancel, done: e.Done(), stop: e.Stop}, sum
}

// TestReloadErrorReadInFull: at 80 columns the reload error is cut in the
// flash line, which says so; m shows it whole, the sha256 on screen.
func TestReloadErrorReadInFull(t *testing.T) {
	r, sum := reloadRig(t)
	c := newConsole(t, r.sup, Options{}, 80, 24)
	c.waitFor("echo")
	c.press("R")
	s := c.waitFor("(m: full message)")
	if strings.Contains(s, sum) {
		t.Fatalf("the whole hash fit the flash line; the test needs a longer message:\n%s", s)
	}
	c.press("m")
	c.waitFor("Messages", "m or esc closes", sum)
	c.press("m")
	c.waitScreen("messages closed", func(s string) bool { return !strings.Contains(s, "m or esc closes") })
	c.typeText(":messages")
	c.press("enter")
	c.waitFor("m or esc closes", sum)
	c.press("esc")
	c.waitScreen("messages closed", func(s string) bool { return !strings.Contains(s, "m or esc closes") })
}

// TestMessagesScroll: many messages, the overlay opens at the newest and
// scrolls to the oldest kept.
func TestMessagesScroll(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{}, 80, 24)
	c.waitFor("ticker")
	for range 30 {
		c.press("w") // each says wrap on/off
	}
	c.press("m")
	s := c.waitFor("Messages 30", "of 30")
	c.press("g")
	c.waitScreen("the oldest message", func(s2 string) bool { return s2 != s && strings.Contains(s2, "1–") })
	c.press("G")
	c.waitFor("of 30")
}

// TestHistoryIsBounded: the history keeps the newest messages within its
// count and byte bounds, and cuts one message past its own bound.
func TestHistoryIsBounded(t *testing.T) {
	var f footer.Model
	big := strings.Repeat("x", footer.MaxMessageBytes*2)
	f.Set(footer.Error, big)
	h := f.History()
	if len(h) != 1 || len(h[0].Text) > footer.MaxMessageBytes+64 || !strings.Contains(h[0].Text, "more not kept") {
		t.Fatalf("a message past the bound kept %d bytes", len(h[0].Text))
	}
	for i := range footer.MaxHistory * 3 {
		f.Set(footer.Info, fmt.Sprintf("message %d %s", i, strings.Repeat("y", 4000)))
	}
	kept, total := f.HistoryLen()
	bytes := 0
	for _, m := range f.History() {
		bytes += len(m.Text)
	}
	if kept > footer.MaxHistory || bytes > footer.MaxHistoryBytes || total != uint64(footer.MaxHistory*3+1) {
		t.Fatalf("history kept %d messages, %d bytes, of %d", kept, bytes, total)
	}
	if last := f.History()[kept-1].Text; !strings.HasPrefix(last, fmt.Sprintf("message %d ", footer.MaxHistory*3-1)) {
		t.Fatalf("newest message not kept: %.20q", last)
	}
}
