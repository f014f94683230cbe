package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/tui/components/cmdline"
	"github.com/plugvisor/plugvisor/tui/components/footer"
	"github.com/plugvisor/plugvisor/tui/components/header"
	"github.com/plugvisor/plugvisor/tui/components/pager"
	"github.com/plugvisor/plugvisor/tui/render"
)

// The ? help: every key in columns reflowed to the width (fewer columns,
// more rows when narrow), the commands, what each table column means, and
// the mouse; a pager scrolls it when it is taller than the screen.

// columnHelp explains the plugins table's headers, in table order.
var columnHelp = [][2]string{
	{"HOST", "over many hosts (a fleet) only: the host that runs it, the rows ordered by it until another sort is chosen; ⚠ marks a host that stopped answering, its rows faint, its last known state, the columns from HEARTBEAT on saying when it was last seen, and actions on them refused"},
	{"NAME", "the instance: the plugin's name, or name.N for one of several instances (over many hosts, without the host: HOST/NAME is its full name in commands)"},
	{"STATE", "● running ◐ starting ◑ stopping ○ exited ◌ backoff (waiting to restart) ✖ failed ■ stopped"},
	{"PID", "the process id of its current process"},
	{"UPTIME", "how long the current process has run"},
	{"RST", "restarts: how many times the supervisor started it again after it ended"},
	{"HEARTBEAT", "age of the last heartbeat / its round trip: <1s/331µs is a heartbeat answered under a second ago, in 331µs; an age near the heartbeat timeout means the plugin hangs"},
	{"REC/S", "records a second the plugin emits, over the last second"},
	{"TREND", "REC/S over the last ten snapshots (a second apart, 2 s once the console has gone 10 s untouched), scaled to their highest"},
	{"CPU", "share of one core its processes used over the last second"},
	{"RSS", "resident memory of its processes, in IEC units (KiB, MiB, GiB)"},
	{"VERSION", "the version the plugin reports, else its configuration's"},
}

// filterHelp is the table filter's forms (/ or :filter).
var filterHelp = []string{
	"/ on the table, or :filter TEXT: instances whose name (with its host), state or version holds the letters in order (ech1 finds echo.1); a leading ! keeps the others; the logs' =TEXT and -f TEXT filter the same way",
	"KEY=VALUE terms, comma-separated, select by host and label instead, as fleet ctl's selectors do: host=edge-1, host=edge-*, host=edge-1|edge-2, env=prod,role=edge; every term must hold, values whole; env!=dev keeps hosts without env too, as !env=dev does; :filter alone clears it",
}

var mouseHelp = []string{
	"click selects a plugin row or a detail tab and focuses its pane; the wheel scrolls the pane under the pointer",
	"to select text, hold shift while dragging (most terminals; option in iTerm2, fn in macOS Terminal): the console takes plain drags for clicks",
}

const helpCloseHint = "? or esc closes"

// helpBox is the help overlay for a terminal w cells wide.
func (m *Model) helpBox(w int) []string {
	bw := max(min(w-2, 100), 10)
	lines := m.helpLines(render.Inner(bw))
	return m.helpPage.View(m.c, m.c.Styles.Title.Render("Keys"), lines, bw, m.overlayHeight(), helpCloseHint)
}

// overlayHeight is the most rows an overlay may take: the body's.
func (m *Model) overlayHeight() int {
	return max(m.c.Height-header.Height-footer.Height, 3)
}

// helpKey scrolls the help or closes it.
func (m *Model) helpKey(k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "?", "esc", "q", "enter":
		m.showHelp = false
		return nil
	case "ctrl+c": // quits from every overlay
		m.showHelp = false
		return m.quit()
	}
	bw := max(min(m.c.Width-2, 100), 10)
	m.helpPage.Scroll(k, m.c.Keys, len(m.helpLines(render.Inner(bw))), pager.Page(m.overlayHeight()))
	return nil
}

// openHelp shows the help from its top.
func (m *Model) openHelp() {
	m.showHelp = true
	m.helpPage = pager.Model{}
}

// helpLines is the help's text for w cells.
func (m *Model) helpLines(w int) []string {
	st := m.c.Styles
	section := func(title string) []string { return []string{"", st.Title.Render(title)} }
	lines := keyColumns(m.c.Keys.Groups(), w, func(k, d string) string {
		return st.KeyHint.Render(k) + st.KeyDesc.Render(d)
	})
	lines = append(lines, section("Commands")...)
	for _, u := range cmdline.Usage() {
		lines = append(lines, st.KeyHint.Render(u))
	}
	lines = append(lines, section("Table columns")...)
	const label = 10
	for _, c := range columnHelp {
		for i, l := range render.WrapWords(c[1], max(w-label-1, 8)) {
			head := strings.Repeat(" ", label)
			if i == 0 {
				head = render.Fit(c[0], label)
			}
			lines = append(lines, st.KeyHint.Render(head)+" "+st.Text.Render(l))
		}
	}
	lines = append(lines, section("Table filter")...)
	for _, p := range filterHelp {
		for _, l := range render.WrapWords(p, w) {
			lines = append(lines, st.Text.Render(l))
		}
	}
	lines = append(lines, section("Mouse")...)
	for _, p := range mouseHelp {
		for _, l := range render.WrapWords(p, w) {
			lines = append(lines, st.Text.Render(l))
		}
	}
	return lines
}

// keyColumns lays the key groups out side by side as far as w allows,
// then in further rows of groups: every key stays shown at any width.
func keyColumns(groups [][]key.Binding, w int, draw func(k, d string) string) []string {
	const gap = 3
	type col struct {
		keyW, w int
		rows    []key.Binding
	}
	cols := make([]col, len(groups))
	for i, g := range groups {
		c := col{rows: g}
		for _, b := range g {
			c.keyW = max(c.keyW, render.Width(b.Help().Key))
		}
		for _, b := range g {
			c.w = max(c.w, c.keyW+1+render.Width(b.Help().Desc))
		}
		cols[i] = c
	}
	var out []string
	for start := 0; start < len(cols); {
		end, used := start+1, cols[start].w
		for end < len(cols) && used+gap+cols[end].w <= w {
			used += gap + cols[end].w
			end++
		}
		if start > 0 {
			out = append(out, "")
		}
		band := cols[start:end]
		height := 0
		for _, c := range band {
			height = max(height, len(c.rows))
		}
		for r := range height {
			var line strings.Builder
			for i, c := range band {
				cell := strings.Repeat(" ", c.w)
				if r < len(c.rows) {
					h := c.rows[r].Help()
					cell = draw(render.Fit(h.Key, c.keyW)+" ", render.Fit(h.Desc, c.w-c.keyW-1))
				}
				if i > 0 {
					line.WriteString(strings.Repeat(" ", gap))
				}
				line.WriteString(cell)
			}
			out = append(out, render.Cut(strings.TrimRight(line.String(), " "), w))
		}
		start = end
	}
	return out
}
