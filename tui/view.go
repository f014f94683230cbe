package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	bt "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/tui/components/confirm"
	"github.com/plugvisor/plugvisor/tui/components/detail"
	"github.com/plugvisor/plugvisor/tui/components/footer"
	"github.com/plugvisor/plugvisor/tui/components/header"
	"github.com/plugvisor/plugvisor/tui/components/plugins"
	"github.com/plugvisor/plugvisor/tui/components/summary"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/keys"
	"github.com/plugvisor/plugvisor/tui/render"
)

// Sizes at which the layout changes.
const (
	wideWidth = 150 // side by side from here; stacked below
	minWidth  = 40
	minHeight = 12
)

type rect struct{ x, y, w, h int }

func (r rect) contains(x, y int) bool { return x >= r.x && x < r.x+r.w && y >= r.y && y < r.y+r.h }

type layout struct {
	wide                   bool
	table, summary, detail rect
}

// layout places the panes. Narrow terminals stack the table above the
// detail pane; wide ones put an at-a-glance summary of the selected plugin
// beside the table, with the detail pane below both.
func (m *Model) layout() layout {
	w, h := m.c.Width, m.c.Height
	bodyY, bodyH := header.Height, max(h-header.Height-footer.Height, 0)
	rows := max(m.store.Len(), 1)
	if m.fullLogs() {
		return layout{table: rect{0, bodyY, w, 0}, detail: rect{0, bodyY, w, bodyH}}
	}
	if w >= wideWidth && bodyH >= 2*summary.Height {
		th := min(max(plugins.Height(rows), summary.Height), bodyH/2)
		tw := plugins.WidthWithin(m.store, w*3/5)
		return layout{
			wide:  true,
			table: rect{0, bodyY, tw, th}, summary: rect{tw, bodyY, w - tw, th},
			detail: rect{0, bodyY + th, w, bodyH - th},
		}
	}
	th := min(plugins.Height(rows), max(bodyH*2/5, 5))
	return layout{table: rect{0, bodyY, w, th}, detail: rect{0, bodyY + th, w, bodyH - th}}
}

// cached holds one pane's last picture and the key it was drawn for; the
// pane is drawn again only when the key changes.
type cached[K comparable] struct {
	key K
	out string
	ok  bool
}

func (c *cached[K]) get(k K, draw func() string) string {
	if !c.ok || c.key != k {
		c.key, c.out, c.ok = k, draw(), true
	}
	return c.out
}

type headerKey struct {
	w, themeRev int
	rows        uint64
	sec         int64
	dropped     uint64
	link        header.Link
}

type summaryKey struct {
	w, h, themeRev int
	rows           uint64
	sec            int64
	sel            string
}

type footerKey struct {
	w, themeRev, flash int
	text, help         string
}

type caches struct {
	header  cached[headerKey]
	table   cached[tableCacheKey]
	summary cached[summaryKey]
	detail  cached[detail.Key]
	footer  cached[footerKey]
	frame   cached[framePieces]
}

// View composes the panes' cached pictures and whatever overlay is open.
func (m *Model) View() bt.View {
	v := bt.NewView(m.frame())
	v.AltScreen = true
	v.MouseMode = bt.MouseModeCellMotion
	v.WindowTitle = m.windowTitle()
	if m.opts.onFrame != nil {
		m.opts.onFrame(v.Content)
	}
	return v
}

func (m *Model) windowTitle() string {
	t := "plugvisor"
	switch {
	case m.opts.Title != "":
		t = m.opts.Title
	case m.store.Info.Name != "":
		t = "plugvisor · " + m.store.Info.Name
	}
	if m.lost {
		t += " · connection lost"
	}
	return t
}

// link is the header's view of the connection.
func (m *Model) link() header.Link {
	l := header.Link{Notice: m.notice}
	switch {
	case m.lost:
		l.Lost = true
		if m.lostErr != nil {
			l.LostErr = m.lostErr.Error()
		}
	case m.snapshotErr != nil:
		l.SnapshotErr = m.snapshotErr.Error()
	}
	return l
}

func (m *Model) frame() string {
	w, h := m.c.Width, m.c.Height
	if w == 0 || h == 0 {
		return ""
	}
	if w < minWidth || h < minHeight {
		return tooSmall(w, h)
	}
	sec := m.c.Now().Unix()
	l := m.layout()
	link := m.link()
	hdr := m.cache.header.get(headerKey{w, m.c.ThemeRev, m.store.RowsRev(), sec, m.store.Dropped, link}, func() string {
		return header.View(m.c, m.store, m.opts.Title, link, w)
	})
	tableFocused, detailFocused := m.focus == panePlugins, m.focus == paneDetail
	tbl := m.tableView(l, tableFocused, sec)
	det := m.cache.detail.get(m.detail.Key(m.c, m.store, l.detail.w, l.detail.h, detailFocused), func() string {
		return m.detail.View(m.c, m.store, l.detail.w, l.detail.h, detailFocused)
	})
	plain := m.describe == nil && !m.overlaid()
	pieces := framePieces{w: w, h: h, hdr: hdr, tbl: tbl, det: det, wide: l.wide, full: m.fullLogs()}
	if l.wide && !pieces.full {
		pieces.sum = m.cache.summary.get(summaryKey{l.summary.w, l.summary.h, m.c.ThemeRev, m.store.RowsRev(), sec, m.table.Selected}, func() string {
			return summary.View(m.c, m.store, m.table.Selected, l.summary.w, l.summary.h)
		})
	}
	pieces.foot = m.footerView(w)
	if plain && m.cache.frame.ok && m.cache.frame.key == pieces {
		return m.cache.frame.out
	}
	out := m.compose(pieces, l, w)
	if plain {
		m.cache.frame = cached[framePieces]{key: pieces, out: out, ok: true}
	}
	return out
}

// framePieces are the panes a plain frame (no overlay, no describe view) is
// made of. Most messages an idle console handles change none of them, and
// the panes' caches then hand back the very same strings, which compare
// equal at once: the frame of the last such message is handed back as it
// was, not split and joined again.
type framePieces struct {
	w, h                     int
	hdr, tbl, det, sum, foot string
	wide, full               bool
}

// overlaid says whether a dialog, form, help, messages or stop progress is
// drawn over the body.
func (m *Model) overlaid() bool {
	return m.stopping || m.dialog != nil || m.form != nil || m.showHelp || m.showMessages
}

// compose lays the pieces out, with the describe view and any overlay.
func (m *Model) compose(p framePieces, l layout, w int) string {
	var body []string
	if p.full {
		body = strings.Split(p.det, "\n")
	} else if l.wide {
		body = append(sideBySide(p.tbl, p.sum, l.table.w), strings.Split(p.det, "\n")...)
	} else {
		body = append(strings.Split(p.tbl, "\n"), strings.Split(p.det, "\n")...)
	}
	body = m.describeBody(body, w)
	body = m.overlay(body, w)
	return p.hdr + "\n" + strings.Join(body, "\n") + "\n" + p.foot
}

func sideBySide(left, right string, lw int) []string {
	ls, rs := strings.Split(left, "\n"), strings.Split(right, "\n")
	out := make([]string, max(len(ls), len(rs)))
	for i := range out {
		l := strings.Repeat(" ", lw)
		if i < len(ls) {
			l = ls[i]
		}
		if i < len(rs) {
			l += rs[i]
		}
		out[i] = l
	}
	return out
}

// overlay draws the open dialog, form, help or stop progress over the body.
func (m *Model) overlay(body []string, w int) []string {
	var box []string
	switch {
	case m.stopping:
		box = m.stopBox(w)
	case m.dialog != nil:
		box = m.dialog.View(m.c, w-4)
	case m.form != nil:
		box = m.form.View(m.c, w-4)
	case m.showHelp:
		box = m.helpBox(w)
	case m.showMessages:
		box = m.messagesBox(w)
	default:
		return body
	}
	return render.Overlay(body, box, w)
}

// stopBox shows every instance's state while the engine stops them.
func (m *Model) stopBox(w int) []string {
	st := m.c.Styles
	left := m.store.Totals().Running
	title := st.Title.Render(fmt.Sprintf("Stopping plugins: %d of %d stopped", m.store.Len()-left, m.store.Len()))
	var lines []string
	for _, id := range m.store.Order() {
		s := m.store.Plugin(id).Status.State
		lines = append(lines, st.State(s).Render(render.Fit(pvctx.Symbol(s)+" "+string(s), 12))+" "+st.Text.Render(id))
	}
	lines = append(lines, "", st.Faint.Render("ctrl+c leaves without waiting"))
	return confirm.Box(m.c, title, lines, min(60, w-4))
}

// footerView is the help line (or the open input) and the flash line.
func (m *Model) footerView(w int) string {
	switch {
	case m.cmd != nil: // the command line, then its completions or the flash
		line, hint := m.cmd.View(m.c, w)
		switch {
		case hint == "" && m.footer.Flash.Text != "":
			hint = m.footer.FlashLine(m.c, w)
		case hint == "":
			hint = m.footer.Help.ShortHelpView(m.cmd.Help())
		}
		return line + "\n" + render.Fit(hint, w)
	case m.filter != nil:
		return m.filter.View(m.c.Styles.InputStyles(true), w) + "\n" + m.footer.FlashLine(m.c, w)
	case m.table.Filtering():
		return m.table.FilterView(m.c, w) + "\n" + m.footer.FlashLine(m.c, w)
	}
	km, name := m.helpKeys()
	return m.cache.footer.get(footerKey{w, m.c.ThemeRev, m.footer.Flash.ID, m.footer.Flash.Text, name}, func() string {
		return m.footer.View(m.c, km, w)
	})
}

// helpKeys is the short help for what has the keyboard, and a name for it.
func (m *Model) helpKeys() (help.KeyMap, string) {
	switch {
	case m.stopping:
		return keys.Input{keys.Hint("ctrl+c", "leave now")}, "stopping"
	case m.dialog != nil:
		return keys.Input{keys.Hint("y", "yes"), keys.Hint("n", "no")}, "dialog"
	case m.form != nil:
		return m.form.Help(), "form"
	case m.showHelp:
		return keys.Input{keys.Hint("j/k", "scroll"), keys.Hint("?/esc", "close help")}, "help"
	case m.showMessages:
		return keys.Input{keys.Hint("j/k", "scroll"), keys.Hint("m/esc", "close messages")}, "messages"
	case m.describe != nil:
		return keys.Input{m.c.Keys.Up, m.c.Keys.PageDown, m.c.Keys.Copy, keys.Hint("esc/d/q", "close")}, "describe"
	case m.detail.Expanded():
		return keys.Input{m.c.Keys.Up, keys.Hint("enter/esc", "back"), m.c.Keys.Quit}, "expanded"
	}
	f := keys.FocusPlugins
	if m.focus == paneDetail {
		f = []keys.Focus{keys.FocusLogs, keys.FocusData, keys.FocusTasks, keys.FocusInfo, keys.FocusEvents, keys.FocusSupervisor}[m.detail.Tab]
	}
	return keys.Help{Map: m.c.Keys, Focus: f}, fmt.Sprint("focus", f)
}

// click selects the row or tab under the pointer and focuses its pane.
func (m *Model) click(ms bt.Mouse) bt.Cmd {
	if ms.Button != bt.MouseLeft || m.dialog != nil || m.form != nil || m.stopping || m.describe != nil {
		return nil
	}
	l := m.layout()
	switch {
	case l.table.contains(ms.X, ms.Y):
		m.focus = panePlugins
		if i, ok := m.table.RowAt(ms.Y - l.table.y); ok {
			m.table.SelectRow(i)
			m.detail.Show(m.table.Selected)
		}
	case l.detail.contains(ms.X, ms.Y):
		m.focus = paneDetail
		if ms.Y == l.detail.y {
			if t, ok := m.detail.TabAt(ms.X - l.detail.x); ok {
				m.detail.SetTab(t)
			}
		}
	}
	return nil
}

// wheel scrolls the pane under the pointer.
func (m *Model) wheel(ms bt.Mouse) bt.Cmd {
	if m.dialog != nil || m.form != nil || m.stopping {
		return nil
	}
	if m.describe != nil {
		m.describe.Move(map[bt.MouseButton]int{bt.MouseWheelUp: -3, bt.MouseWheelDown: 3}[ms.Button])
		return nil
	}
	n := 0
	switch ms.Button {
	case bt.MouseWheelUp:
		n = -3
	case bt.MouseWheelDown:
		n = 3
	default:
		return nil
	}
	if m.showHelp || m.showMessages {
		m.overlayWheel(n)
		return nil
	}
	l := m.layout()
	switch {
	case l.table.contains(ms.X, ms.Y):
		m.scroll(panePlugins, n/3)
	case l.detail.contains(ms.X, ms.Y):
		m.scroll(paneDetail, n)
	}
	return nil
}
