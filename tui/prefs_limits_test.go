package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/tui/components/cmdline"
)

// TestPrefsWrittenFitReadLimit: a full history of lines that JSON would
// escape (< to \u003c, control characters to \u00XX) is written so that
// it reads back: < as itself, and the oldest lines dropped until the file
// fits maxPrefsBytes.
func TestPrefsWrittenFitReadLimit(t *testing.T) {
	for name, line := range map[string]string{
		"angle brackets": strings.Repeat("<", cmdline.MaxHistoryLine),
		"controls":       strings.Repeat("\x01", cmdline.MaxHistoryLine),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			hist := make([]string, cmdline.MaxHistory)
			for i := range hist {
				hist[i] = line[:len(line)-3] + string(rune('a'+i%26)) + "ok"
			}
			hist[len(hist)-1] = "newest"
			if err := writePrefs(dir, prefs{Wrap: true, History: hist}); err != nil {
				t.Fatal(err)
			}
			p, err := readPrefs(dir)
			if err != nil {
				fi, _ := os.Stat(filepath.Join(dir, prefsFile))
				t.Fatalf("the file written (%d bytes) does not read back: %v", fi.Size(), err)
			}
			n := len(p.History)
			if !p.Wrap || n == 0 || p.History[n-1] != "newest" {
				t.Fatalf("read back wrap %v, %d lines", p.Wrap, n)
			}
			if name == "angle brackets" && n != cmdline.MaxHistory {
				t.Fatalf("%d of %d lines kept", n, cmdline.MaxHistory)
			}
		})
	}
}
