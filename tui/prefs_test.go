package tui

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/plugvisor/plugvisor/registry"
)

// stateEnv is an environment whose XDG_STATE_HOME is dir.
func stateEnv(dir string) func(string) string {
	return func(k string) string { return map[string]string{"XDG_STATE_HOME": dir}[k] }
}

// TestPrefsKeptAcrossRuns: wrap, timestamps, the theme chosen and the
// commands run are in $XDG_STATE_HOME/plugvisor/console.json (directory
// 0700, file 0600) and the next console starts with them, ↑ walking the
// commands of the last run.
func TestPrefsKeptAcrossRuns(t *testing.T) {
	r := startRig(t, false)
	dir := t.TempDir()
	opts := Options{KeepState: true, getenv: stateEnv(dir)}

	c := newConsole(t, r.sup, opts, 120, 40)
	c.waitFor("ticker", "theme dark", "wrap off", "time off")
	c.press("w", "z", "T")
	c.waitFor("theme light", "wrap on", "time on")
	c.press(":")
	c.typeText("ping nosuch")
	c.press("enter")
	c.waitFor("ping nosuch:")
	path := filepath.Join(dir, "plugvisor", "console.json")
	// The file is written in a command: wait for the last change to land.
	waitUntil(t, "the command in the file", func() bool {
		data, _ := os.ReadFile(path)
		return strings.Contains(string(data), `"ping nosuch"`)
	})
	_ = c.tm.Quit()
	c.tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))

	fi, err := os.Stat(filepath.Join(dir, "plugvisor"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("state directory: %v %v", fi.Mode(), err)
	}
	fi, err = os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("preferences file: %v %v", fi.Mode(), err)
	}
	var p prefs
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &p); err != nil || !p.Wrap || !p.Timestamps || p.Theme != "light" ||
		!slices.Equal(p.History, []string{"ping nosuch"}) {
		t.Fatalf("saved %+v (%v):\n%s", p, err, data)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "plugvisor", "console.json.*")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	c = newConsole(t, r.sup, opts, 120, 40)
	c.waitFor("ticker", "theme light", "wrap on", "time on")
	c.press(":", "up")
	c.waitFor(":ping nosuch")
	c.press("down")
	c.waitScreen("the draft again", func(s string) bool { return !strings.Contains(s, ":ping nosuch") })

	// A theme named by the operator (--theme) wins over the saved one.
	named := opts
	named.Theme = "high-contrast"
	c = newConsole(t, r.sup, named, 120, 40)
	c.waitFor("ticker", "theme high-contrast", "wrap on")
}

// TestPrefsBadFileIgnored: a file that is not JSON, or too large, is said
// in the flash line, moved aside (console.json.bad-<time>) and ignored;
// the console starts with the defaults and
// runs.
func TestPrefsBadFileIgnored(t *testing.T) {
	r := startRig(t, false)
	for name, content := range map[string]string{
		"not json":  "{wrap: yes",
		"too large": `{"history": ["` + strings.Repeat("x", maxPrefsBytes) + `"]}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "plugvisor"), 0o700); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "plugvisor", "console.json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			c := newConsole(t, r.sup, Options{KeepState: true, getenv: stateEnv(dir)}, 160, 40)
			c.waitFor("ticker", "preferences ignored (moved to console.json.bad-", "wrap off")
			c.press("w")
			c.waitFor("wrap on")
			// The bad file's bytes are kept aside, not overwritten.
			bad, _ := filepath.Glob(path + ".bad-*")
			if len(bad) != 1 {
				t.Fatalf("files kept aside: %v", bad)
			}
			if data, err := os.ReadFile(bad[0]); err != nil || string(data) != content {
				t.Fatalf("%s holds %d bytes (%v), want the bad file's %d", bad[0], len(data), err, len(content))
			}
		})
	}
}

func TestStateDir(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, tc := range []struct {
		env  func(string) string
		want string
	}{
		{env("XDG_STATE_HOME", "/s", "HOME", "/h"), "/s/plugvisor"},
		{env("XDG_STATE_HOME", "relative", "HOME", "/h"), "/h/.local/state/plugvisor"},
		{env("HOME", "/h"), "/h/.local/state/plugvisor"},
		{env(), ""},
	} {
		if got := registry.StateDir(tc.env); got != tc.want {
			t.Errorf("stateDir = %q, want %q", got, tc.want)
		}
	}
}
