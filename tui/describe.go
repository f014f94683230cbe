package tui

import (
	"context"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/internal/clip"
	"github.com/plugvisor/plugvisor/internal/termtext"
	"github.com/plugvisor/plugvisor/tui/components/describe"
	"github.com/plugvisor/plugvisor/tui/components/detail"
	"github.com/plugvisor/plugvisor/tui/components/footer"
	"github.com/plugvisor/plugvisor/tui/render"
)

// Getting values out of the console: the describe view (d), copying (y)
// to the terminal's clipboard, exporting records (:export).

const (
	// maxCopy bounds what one y sends: OSC 52 carries it base64-encoded
	// inside one escape sequence, which terminals cap (xterm and tmux
	// around 100 KB).
	maxCopy = 64 << 10
	// copyPreview is how much of what was copied the flash line repeats.
	copyPreview = 48
	// exportDeadline bounds writing an export (a slow disk, a FIFO).
	exportDeadline = time.Minute
)

// openDescribe opens the describe view of the selected plugin.
func (m *Model) openDescribe() tea.Cmd {
	if m.table.Selected == "" {
		return m.flash(footer.Warn, "no plugin selected")
	}
	m.describe = describe.New(m.table.Selected)
	return nil
}

// describeKey handles a key while the describe view is open: it holds
// the keyboard like a dialog, so q closes it rather than quitting.
func (m *Model) describeKey(k tea.KeyPressMsg) tea.Cmd {
	km, d := m.c.Keys, m.describe
	switch {
	case k.String() == "esc", k.String() == "q", key.Matches(k, km.Describe):
		m.describe = nil
	case key.Matches(k, km.Copy):
		e, ok := d.Selected()
		if !ok {
			return m.flash(footer.Warn, "nothing to copy")
		}
		what := e.Label
		if e.Section {
			return m.copyText("section name", e.Label)
		}
		return m.copyText(what, e.Value)
	case key.Matches(k, km.Up):
		d.Move(-1)
	case key.Matches(k, km.Down):
		d.Move(1)
	case key.Matches(k, km.PageUp):
		d.Move(-d.Page())
	case key.Matches(k, km.PageDown):
		d.Move(d.Page())
	case key.Matches(k, km.Top):
		d.Top()
	case key.Matches(k, km.Bottom):
		d.Bottom()
	case key.Matches(k, km.Help):
		m.describe, m.showHelp = nil, true
	case key.Matches(k, km.Quit) && k.String() == "ctrl+c":
		return m.quit()
	}
	return nil
}

// describeBody draws the describe view in place of the body, h lines.
func (m *Model) describeBody(body []string, w int) []string {
	if m.describe == nil {
		return body
	}
	return strings.Split(m.describeWithSignature(w, len(body)), "\n")
}

// copySelected copies what y names outside the describe view: the detail
// pane's selected record, reply or last log line.
func (m *Model) copySelected() tea.Cmd {
	what, text, ok := m.detail.Copy(m.store)
	if !ok {
		return m.flash(footer.Warn, what)
	}
	return m.copyText(what, text)
}

// copyText sets the terminal's clipboard with OSC 52, which reaches the
// local clipboard over ssh and through tmux (set-clipboard on), and says
// what was copied. Everything y copies comes from here, and plugin text
// is escaped (termtext.Escape) first: a pasted ESC [201~ would end the
// shell's bracketed paste and a CR would run what follows.
func (m *Model) copyText(what, text string) tea.Cmd {
	text = termtext.Escape(text, true)
	cut := clip.Head(text, maxCopy)
	msg := "copied " + what + " (" + render.Bytes(int64(len(cut))) + "): " + render.Cut(render.Sanitize(clip.Head(cut, copyPreview*4)), copyPreview)
	if len(cut) < len(text) {
		msg = "copied the first " + render.Bytes(int64(len(cut))) + " of " + what + " (" + render.Bytes(int64(len(text))) + ")"
	}
	return tea.Batch(m.setClipboard(cut), m.flash(footer.OK, msg))
}

// exportMsg is how an export ended.
type exportMsg struct {
	path string
	n    int
	err  error
}

// export writes the records the Data tab shows to path, from a command:
// the records are taken here, on the event loop, and written there.
func (m *Model) export(format, path string) tea.Cmd {
	recs, src := m.detail.Shown(m.store)
	if src.Instance == "" {
		return m.flash(footer.Warn, "export: no plugin selected")
	}
	m.flash(footer.Info, "exporting "+plural(len(recs), "record", "records")+" to "+path+"…")
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), exportDeadline)
		defer cancel()
		n, err := detail.Export(ctx, path, format, src, recs)
		return exportMsg{path: path, n: n, err: err}
	}
}

func (m *Model) exportDone(msg exportMsg) tea.Cmd {
	if msg.err != nil {
		return m.flash(footer.Error, "export: "+msg.err.Error())
	}
	return m.flash(footer.OK, "exported "+plural(msg.n, "record", "records")+" to "+msg.path)
}

// toggleRecordsTable switches the Data tab between its list and the table
// of the selected record's data_type.
func (m *Model) toggleRecordsTable() tea.Cmd {
	if m.detail.Tab != detail.TabData {
		m.detail.SetTab(detail.TabData)
	}
	was := m.detail.Table()
	switch typ := m.detail.ToggleTable(m.store); {
	case typ != "":
		return m.flash(footer.Info, "records table of "+render.Sanitize(typ)+" · / filters any field (field=value) · v: list")
	case was != "":
		return m.flash(footer.Info, "records list")
	}
	return m.flash(footer.Warn, "no record selected: the table shows the selected record's data_type")
}

// cancelTask cancels the selected pending round trip this console sent:
// the call's context ends, and the row says cancelled.
func (m *Model) cancelTask() tea.Cmd {
	t := m.detail.SelectedTask(m.store)
	switch {
	case t == nil:
		return m.flash(footer.Warn, "no round trip selected")
	case t.Outcome.Final():
		return m.flash(footer.Warn, "task "+strconv.FormatUint(uint64(t.ID), 10)+" is over: "+string(t.Outcome))
	}
	stop := m.inFlight[t.Token]
	if stop == nil {
		return m.flash(footer.Warn, "task "+strconv.FormatUint(uint64(t.ID), 10)+" was sent by another client: only it can cancel it")
	}
	stop()
	return m.flash(footer.Info, "cancelling task "+strconv.FormatUint(uint64(t.ID), 10)+"…")
}
