package tui

import (
	"log/slog"
	"sync"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/tui/components/footer"
)

// The preferences file is written off the UI goroutine, so that a slow
// home directory (NFS, a full disk) never stalls a key. At most one write
// is in flight: a change made meanwhile waits for it, and only the newest
// state is written then, however many changes came.

// prefsWriter writes the file one state at a time, never an older state
// over a newer one: the in-flight command and the flush at exit may race.
type prefsWriter struct {
	save    func(dir string, p prefs) error // writePrefs
	mu      sync.Mutex
	written uint64 // generation of the state last written
}

// write writes p, generation gen, unless a newer one was written.
func (w *prefsWriter) write(dir string, gen uint64, p prefs) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if gen <= w.written {
		return nil
	}
	if err := w.save(dir, p); err != nil {
		return err
	}
	w.written = gen
	return nil
}

// prefsWrittenMsg reports a write; err is said in the flash line.
type prefsWrittenMsg struct{ err error }

// prefsQueue is the UI goroutine's side: what is asked for and whether a
// write is under way.
type prefsQueue struct {
	w        *prefsWriter
	gen      uint64 // generation of kept.saved, the state asked for
	inFlight bool
	pending  bool // kept.saved changed while a write was in flight
}

// savePrefs records p as the state to keep and writes it, or leaves it
// for when the write in flight is done.
func (m *Model) savePrefs(p prefs) tea.Cmd {
	q := &m.kept.queue
	m.kept.saved = p
	q.gen++
	if q.inFlight {
		q.pending = true
		return nil
	}
	return m.writePrefsCmd()
}

// writePrefsCmd writes the state asked for, in a command.
func (m *Model) writePrefsCmd() tea.Cmd {
	q := &m.kept.queue
	if q.w == nil {
		q.w = &prefsWriter{save: m.opts.savePrefs}
		if q.w.save == nil {
			q.w.save = writePrefs
		}
	}
	q.inFlight, q.pending = true, false
	w, dir, gen, p := q.w, m.kept.dir, q.gen, m.kept.saved
	return func() tea.Msg { return prefsWrittenMsg{w.write(dir, gen, p)} }
}

// prefsWritten ends a write: says its error and writes what changed
// meanwhile.
func (m *Model) prefsWritten(msg prefsWrittenMsg) tea.Cmd {
	q := &m.kept.queue
	q.inFlight = false
	var cmds []tea.Cmd
	if msg.err != nil {
		cmds = append(cmds, m.flash(footer.Error, msg.err.Error()))
	}
	if q.pending {
		cmds = append(cmds, m.writePrefsCmd())
	}
	return tea.Batch(cmds...)
}

// flushPrefs writes, once the event loop has ended, what the last change
// asked for if no write got to it.
func (m *Model) flushPrefs() {
	q := &m.kept.queue
	if m.kept.dir == "" || q.w == nil {
		return
	}
	if err := q.w.write(m.kept.dir, q.gen, m.kept.saved); err != nil {
		slog.Warn("console: preferences not saved", "err", err)
	}
}
