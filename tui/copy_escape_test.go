package tui

import (
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/internal/termtext"
)

// TestCopyEscapesControls: what y puts on the clipboard has a plugin's
// control characters escaped, so a pasted line cannot end the shell's
// bracketed paste (ESC [201~), press enter (CR) or send C1 controls.
func TestCopyEscapesControls(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitFor("echo")

	hostile := "hi\x1b[201~rm${IFS}-rf${IFS}~\r\u009b31m\x07"
	var cmd tea.Cmd
	c.inspect(func(m *Model) { cmd = m.copyText("log line", hostile) })
	go c.tm.Send(cmd())
	want := `hi\x1b[201~rm${IFS}-rf${IFS}~\r\u009b31m\a`
	if got := termtext.Escape(hostile, true); got != want {
		t.Fatalf("termtext escapes the line as %q, want %q", got, want)
	}
	c.waitClipboard(want)
}
