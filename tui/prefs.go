package tui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/themes"
	"github.com/plugvisor/plugvisor/tui/components/cmdline"
)

// The console keeps the operator's command history and preferences (theme,
// wrap, timestamps) across runs in one small file in
// $XDG_STATE_HOME/plugvisor/ (default ~/.local/state/plugvisor/), when
// Options.KeepState is set. Losing it loses nothing that matters: a bad or
// unreadable file is said in the flash line, moved aside to
// console.json.bad-<time> (or, when it cannot be, nothing is saved that
// run, so it is never overwritten) and ignored, and a failed write
// is said and the console goes on.

const (
	prefsFile = "console.json"
	// maxPrefsBytes bounds the file read, and so the file written
	// (encodePrefs drops old history to fit).
	maxPrefsBytes = 1 << 20
)

// prefs is the file's content.
type prefs struct {
	Theme      string   `json:"theme,omitempty"` // "" follows the terminal's background
	Wrap       bool     `json:"wrap"`
	Timestamps bool     `json:"timestamps"`
	History    []string `json:"history"`
}

// readPrefs reads the file in dir; a missing one is no preferences.
func readPrefs(dir string) (prefs, error) {
	var p prefs
	path := filepath.Join(dir, prefsFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPrefsBytes+1))
	switch {
	case err != nil:
		return p, fmt.Errorf("%s: %w", path, err)
	case len(data) > maxPrefsBytes:
		return p, fmt.Errorf("%s: larger than %d bytes", path, maxPrefsBytes)
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return prefs{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// writePrefs replaces the file in dir atomically: a temporary file (0600)
// in the same directory (0700), renamed over it, so a crash leaves the old
// file or the new one, never half of one.
func writePrefs(dir string, p prefs) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("preferences: %w", err)
	}
	data, err := encodePrefs(p)
	if err != nil {
		return fmt.Errorf("preferences: %w", err)
	}
	tmp, err := os.CreateTemp(dir, prefsFile+".*")
	if err != nil {
		return fmt.Errorf("preferences: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing to remove
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("preferences: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("preferences: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, prefsFile)); err != nil {
		return fmt.Errorf("preferences: %w", err)
	}
	return nil
}

// encodePrefs is the file's bytes, never more than maxPrefsBytes, so that
// what is written reads back: HTML characters are not escaped (< would take
// six bytes), and when the history, escaped, does not fit, its oldest lines
// are dropped.
func encodePrefs(p prefs) ([]byte, error) {
	for {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(p); err != nil {
			return nil, err
		}
		excess := b.Len() - maxPrefsBytes
		if excess <= 0 {
			return b.Bytes(), nil
		}
		if len(p.History) == 0 {
			return nil, fmt.Errorf("%d bytes without history, more than %d", b.Len(), maxPrefsBytes)
		}
		p.History = p.History[dropFor(p.History, excess):]
	}
}

// dropFor is how many of the oldest lines to drop to save excess bytes of
// their encoding (at least one, so encodePrefs always gets closer).
func dropFor(lines []string, excess int) int {
	for i, l := range lines {
		q, _ := json.Marshal(l) // escapes more than the encoder: errs on the side of dropping
		if excess -= len(q) + 6; excess <= 0 {
			return i + 1
		}
	}
	return len(lines)
}

// setAside moves a file that could not be read to name.bad-<time> in the
// same directory, so that the next write does not overwrite what it held:
// linked first, which fails rather than replace a file of that name.
func setAside(path string, now time.Time) (string, error) {
	bad := path + ".bad-" + now.UTC().Format("20060102T150405Z")
	if err := os.Link(path, bad); err != nil {
		return "", err
	}
	if err := os.Remove(path); err != nil {
		return "", err
	}
	return bad, nil
}

// kept is the state the file holds and the directory it goes to.
type kept struct {
	dir   string // "": nothing is kept
	saved prefs  // as last read, or asked to be written
	err   error  // reading it failed, said at start
	queue prefsQueue
}

// loadPrefs reads the preferences and applies them: the theme only when
// none was chosen (--theme, the configuration, NO_COLOR), wrap and
// timestamps as saved, and the history into the command line.
func (m *Model) loadPrefs() {
	m.history = cmdline.NewHistory(nil)
	if !m.opts.KeepState {
		return
	}
	m.kept.dir = registry.StateDir(m.opts.getenv) // where the engine's state is too
	if m.kept.dir == "" {
		return
	}
	p, err := readPrefs(m.kept.dir)
	if err != nil {
		m.kept.err = m.badPrefs(err)
		return
	}
	m.kept.saved = p
	m.history = cmdline.NewHistory(p.History)
	if t, ok := themes.Find(p.Theme, m.userThemes); ok && m.followBG {
		m.setTheme(t)
		m.followBG = false
	}
	if p.Wrap {
		m.detail.ToggleWrap()
	}
	if p.Timestamps {
		m.detail.ToggleTimes()
	}
}

// badPrefs keeps a file that could not be read from being overwritten: it
// is moved aside, or, when it cannot be, nothing is saved this run. It
// returns what to say.
func (m *Model) badPrefs(err error) error {
	path := filepath.Join(m.kept.dir, prefsFile)
	if _, serr := os.Lstat(path); serr != nil {
		return fmt.Errorf("preferences ignored: %w", err) // nothing there to lose
	}
	bad, aerr := setAside(path, time.Now())
	if aerr != nil {
		m.kept.dir = ""
		return fmt.Errorf("preferences ignored, not saved this run (moving the file aside: %v): %w", aerr, err)
	}
	return fmt.Errorf("preferences ignored (moved to %s): %w", filepath.Base(bad), err)
}

// current is the preferences as they are now; the theme is the one saved
// unless the operator just chose one.
func (m *Model) current(themeChosen bool) prefs {
	p := prefs{Theme: m.kept.saved.Theme, Wrap: m.detail.Wrapping(), Timestamps: m.detail.Timing(),
		History: m.history.Lines()}
	if themeChosen {
		p.Theme = m.c.Theme.Name
	}
	return p
}

// keyKeepingPrefs handles a key and saves the preferences, in a command,
// when it changed them. Only a key can: the theme followed from the terminal's background
// is not a choice to remember.
func (m *Model) keyKeepingPrefs(k tea.KeyPressMsg) tea.Cmd {
	themeRev, histRev := m.c.ThemeRev, m.history.Rev()
	cmd := m.key(k)
	if m.kept.dir == "" {
		return cmd
	}
	p := m.current(m.c.ThemeRev != themeRev)
	s := m.kept.saved
	if p.Theme == s.Theme && p.Wrap == s.Wrap && p.Timestamps == s.Timestamps && m.history.Rev() == histRev {
		return cmd
	}
	p.History = append([]string(nil), p.History...)
	return tea.Batch(cmd, m.savePrefs(p))
}
