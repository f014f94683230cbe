package tui

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/internal/private"
	"github.com/plugvisor/plugvisor/internal/termtext"
	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/tui/components/detail"
	"github.com/plugvisor/plugvisor/tui/components/footer"
	"github.com/plugvisor/plugvisor/tui/components/input"
	"github.com/plugvisor/plugvisor/tui/components/plugins"
)

// The Logs tab's keys beyond scrolling: search (/ with n and N), fullscreen
// (F) and saving the buffer (ctrl+s).

const (
	searchPrompt      = "/"
	searchPlaceholder = "regex · =filter · !hide · -f fuzzy (esc clears)"
)

// openSearch opens the logs search input on the current search.
func (m *Model) openSearch() {
	in := input.New(searchPrompt, searchPlaceholder)
	in.Limit = plugins.MaxFilter // as the table's filter: a paste is not a search
	in.SetValue(m.detail.Filter())
	in.Focus()
	m.filter = &in
	m.searchPromptUpdate()
}

// searchTyped follows an edit of the logs search: the view jumps to the
// nearest match, and the input says when the text is not a regular
// expression (once, in its prompt, not as a flash per key).
func (m *Model) searchTyped() {
	if m.detail.Tab != detail.TabLogs || m.filter == nil {
		return
	}
	m.detail.FindNearest(m.store)
	m.searchPromptUpdate()
}

func (m *Model) searchPromptUpdate() {
	if p := m.detail.SearchProblem(); p != "" {
		m.filter.Prompt = searchPrompt + " (" + p + ") "
		return
	}
	m.filter.Prompt = searchPrompt
}

// logsKey handles n/N, F and ctrl+s.
func (m *Model) logsKey(k tea.KeyPressMsg) tea.Cmd {
	km := m.c.Keys
	switch {
	case key.Matches(k, km.Find):
		dir := 1
		if k.String() == "N" {
			dir = -1
		}
		if !m.detail.FindStep(m.store, dir) {
			return m.flash(footer.Info, "no search to step through: / on the Logs tab searches")
		}
	case key.Matches(k, km.Fullscreen):
		m.logsFull = !m.logsFull || m.detail.Tab != detail.TabLogs
		m.detail.SetTab(detail.TabLogs)
		if m.logsFull {
			m.focus = paneDetail
		}
	case key.Matches(k, km.SaveLogs):
		return m.saveLogs()
	}
	return nil
}

// fullLogs reports whether the Logs tab takes the whole body.
func (m *Model) fullLogs() bool { return m.logsFull && m.detail.Tab == detail.TabLogs }

// logsSavedMsg says where the logs went, or why they did not.
type logsSavedMsg struct {
	path  string
	lines int
	err   error
}

// saveLogs writes what the Logs tab's filter shows of the selected
// instance, off the event loop.
func (m *Model) saveLogs() tea.Cmd {
	id, lines := m.detail.ShownLogs(m.store)
	if id == "" {
		return m.flash(footer.Warn, "no plugin selected")
	}
	dir := registry.StateDir(m.opts.getenv)
	if dir == "" {
		return m.flash(footer.Error, "logs not saved: there is no $XDG_STATE_HOME or $HOME to save them under")
	}
	at := m.now()
	return func() tea.Msg {
		path, err := writeLogs(dir, id, at, lines)
		return logsSavedMsg{path: path, lines: len(lines), err: err}
	}
}

func (m *Model) logsSaved(msg logsSavedMsg) tea.Cmd {
	if msg.err != nil {
		return m.flash(footer.Error, "logs not saved: "+msg.err.Error())
	}
	path := msg.path
	// ~ for the home directory: the flash line is one line, and the path
	// is what the operator came for.
	if home := m.opts.getenv("HOME"); filepath.IsAbs(home) && strings.HasPrefix(path, filepath.Clean(home)+"/") {
		path = "~" + path[len(filepath.Clean(home)):]
	}
	return m.flash(footer.Info, fmt.Sprintf("saved %s to %s", plural(msg.lines, "line", "lines"), path))
}

// writeLogs writes lines to a new file in the logs directory under the
// state directory, named for the instance and the time. Both directories
// are made 0700 if missing and must be this user's, closed to others and
// not symlinks: plugin output can hold secrets. The file is new and 0600
// (private.Create).
func writeLogs(stateDir, id string, at time.Time, lines []supervisor.LogLine) (string, error) {
	dir := filepath.Join(stateDir, "logs")
	for _, d := range []string{stateDir, dir} {
		if err := private.Dir(d, "logs dir", private.Closed); err != nil {
			return "", err
		}
	}
	stem := filepath.Join(dir, fileSafe(id)+"-"+at.Format("20060102-150405"))
	var f *os.File
	var err error
	for n := 1; n <= 100; n++ { // two saves in one second get a suffix
		path := stem + ".log"
		if n > 1 {
			path = fmt.Sprintf("%s-%d.log", stem, n)
		}
		f, err = private.Create(path)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("create: %w", err)
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.Time.UTC().Format(time.RFC3339Nano))
		b.WriteByte(' ')
		b.WriteString(string(l.Stream))
		b.WriteByte(' ')
		// Escaped: a file of plugin output gets read with cat.
		b.WriteString(termtext.Escape(l.Text, false))
		b.WriteByte('\n')
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return "", fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("close %s: %w", f.Name(), err)
	}
	return f.Name(), nil
}

// fileSafe keeps an instance id to characters that need no quoting in a
// file name.
func fileSafe(id string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, id)
}
