package tui

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// The -update flag is teatest's (its golden package defines it); defining
// our own would clash, so the golden screens here honour the same flag.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

const goldenDir = "../testdata/golden"

// TestGoldenScreens compares whole screens with testdata/golden. The setup
// is deterministic: plugins configured but not started, and a clock fixed
// two hours after the supervisor started (ages then show whole minutes, so
// the milliseconds between the engine starting and its plugins being set
// up never show).
func TestGoldenScreens(t *testing.T) {
	r := startRig(t, false)
	started := supervisortest.InfoOf(t, r.sup).Started
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		name := fmt.Sprintf("console-%dx%d", size[0], size[1])
		t.Run(name, func(t *testing.T) {
			opts := Options{now: func() time.Time { return started.Add(2*time.Hour + 30*time.Second) }}
			c := newConsole(t, r.sup, opts, size[0], size[1])
			c.waitFor("ticker", "up 2h00m")
			_ = c.tm.Quit()
			got := ansi.Strip(c.tm.FinalModel(t).View().Content)
			lines := strings.Split(got, "\n")
			if len(lines) != size[1] {
				t.Errorf("%d lines, want %d", len(lines), size[1])
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w != size[0] {
					t.Errorf("line %d is %d cells wide, want %d", i+1, w, size[0])
				}
			}
			compareGolden(t, name, got)
		})
	}
}

func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(goldenDir, name+".golden")
	if updating() {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("screen differs from %s (run with -update to accept):\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff lists the lines that differ, numbered.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d\n  want: %q\n  got:  %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}
