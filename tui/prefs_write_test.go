package tui

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestPrefsWriteNeverStallsKeys: with the home directory stalled on the
// first write, the keys that follow still act, the changes made meanwhile
// are written once after it (one write in flight at a time), and the file
// ends with the last state.
func TestPrefsWriteNeverStallsKeys(t *testing.T) {
	r := startRig(t, false)
	dir := t.TempDir()
	gate := make(chan struct{})
	var (
		mu                     sync.Mutex
		calls, inFlight, worst int
	)
	slow := func(d string, p prefs) error {
		mu.Lock()
		calls++
		first := calls == 1
		inFlight++
		worst = max(worst, inFlight)
		mu.Unlock()
		if first {
			<-gate
		}
		err := writePrefs(d, p)
		mu.Lock()
		inFlight--
		mu.Unlock()
		return err
	}
	opened := false
	defer func() {
		if !opened {
			close(gate)
		}
	}()
	opts := Options{KeepState: true, getenv: stateEnv(dir), savePrefs: slow}
	c := newConsole(t, r.sup, opts, 120, 40)
	c.waitFor("ticker", "theme dark", "wrap off", "time off")
	c.press("w", "z", "T")
	c.waitFor("theme light", "wrap on", "time on") // the first write still hangs
	close(gate)
	opened = true

	path := filepath.Join(dir, "plugvisor", "console.json")
	var last prefs
	waitUntil(t, "the last state in the file", func() bool {
		data, err := os.ReadFile(path)
		last = prefs{}
		return err == nil && json.Unmarshal(data, &last) == nil &&
			last.Theme == "light" && last.Wrap && last.Timestamps
	})
	mu.Lock()
	defer mu.Unlock()
	if calls != 2 || worst != 1 {
		t.Errorf("%d writes, at most %d at once; want the first and one for the changes made during it, one at a time", calls, worst)
	}
}
