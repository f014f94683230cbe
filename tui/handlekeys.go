package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/tui/components/cmdline"
	"github.com/plugvisor/plugvisor/tui/components/confirm"
	"github.com/plugvisor/plugvisor/tui/components/detail"
	"github.com/plugvisor/plugvisor/tui/components/footer"
	"github.com/plugvisor/plugvisor/tui/components/form"
	"github.com/plugvisor/plugvisor/tui/components/input"
	"github.com/plugvisor/plugvisor/tui/components/plugins"
	"github.com/plugvisor/plugvisor/tui/render"
)

// Dialog actions: what a confirmed dialog does.
type (
	stopAction struct{ name string }
	quitAction struct{}
)

// key routes a key press: whatever holds the keyboard (dialog, form,
// command line, filter, help) gets it before the global bindings, so typing
// "q" into the form types a q.
func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	switch {
	case m.stopping:
		if k.String() == "ctrl+c" { // a second ctrl+c leaves without waiting
			m.leftEarly = true
			m.close()
			return tea.Quit
		}
		return nil
	case m.dialog != nil:
		return m.dialogKey(k)
	case m.form != nil:
		return m.formMsg(k)
	case m.cmd != nil:
		return m.cmdMsg(k)
	case m.filter != nil:
		return m.filterMsg(k)
	case m.table.Filtering():
		return m.tableFilterMsg(k)
	case m.describe != nil:
		return m.describeKey(k)
	case m.showHelp:
		return m.helpKey(k)
	case m.showMessages:
		return m.messagesKey(k)
	}
	return m.global(k)
}

// paste goes to whichever input is open.
func (m *Model) paste(p tea.PasteMsg) tea.Cmd {
	switch {
	case m.form != nil:
		return m.formMsg(p)
	case m.cmd != nil:
		return m.cmdMsg(p)
	case m.filter != nil:
		return m.filterMsg(p)
	case m.table.Filtering():
		return m.tableFilterMsg(p)
	}
	return nil
}

func (m *Model) global(k tea.KeyPressMsg) tea.Cmd {
	km := m.c.Keys
	sel := m.table.Selected
	switch {
	case key.Matches(k, km.Quit):
		return m.quit()
	case key.Matches(k, km.Help):
		m.openHelp()
	case key.Matches(k, km.Messages):
		m.openMessages()
	case (key.Matches(k, km.NextPane) || key.Matches(k, km.PrevPane)) && m.fullLogs(): // the table is hidden
	case key.Matches(k, km.NextPane), key.Matches(k, km.PrevPane):
		m.focus = 1 - m.focus
	case key.Matches(k, km.Logs):
		m.detail.SetTab(detail.TabLogs)
	case key.Matches(k, km.Data):
		m.detail.SetTab(detail.TabData)
	case key.Matches(k, km.Tasks):
		m.detail.SetTab(detail.TabTasks)
	case key.Matches(k, km.Info):
		m.detail.SetTab(detail.TabInfo)
	case key.Matches(k, km.Events):
		m.detail.SetTab(detail.TabEvents)
	case key.Matches(k, km.Supervisor):
		m.detail.SetTab(detail.TabSupervisor)
	case key.Matches(k, km.AllPlugins) && m.detail.Tab == detail.TabEvents:
		return m.flash(footer.Info, map[bool]string{true: "events of all plugins", false: "events of the selected plugin"}[m.detail.ToggleAll()])
	case key.Matches(k, km.Start):
		return m.lifecycleKey("start", sel)
	case key.Matches(k, km.Stop):
		return m.lifecycleKey("stop", sel)
	case key.Matches(k, km.Restart):
		return m.lifecycleKey("restart", sel)
	case key.Matches(k, km.Task):
		if sel == "" {
			return m.flash(footer.Warn, "no plugin selected")
		}
		if cmd, down := m.refuseHostDown("task to "+sel, sel); down {
			return cmd
		}
		m.form = form.New(m.c, sel, m.sent.Of(m.pluginName(sel)))
	case key.Matches(k, km.Ping):
		return m.ping(sel)
	case key.Matches(k, km.Reload):
		return m.reload()
	case key.Matches(k, km.Theme):
		return m.nextTheme()
	case key.Matches(k, km.Command):
		m.cmd = cmdline.New(m.history)
	case key.Matches(k, km.Filter) && m.focus == panePlugins:
		m.table.OpenFilter()
	case key.Matches(k, km.Filter):
		m.openFilter()
	case key.Matches(k, km.Find), key.Matches(k, km.Fullscreen), key.Matches(k, km.SaveLogs):
		return m.logsKey(k)
	case key.Matches(k, km.Describe):
		return m.openDescribe()
	case key.Matches(k, km.Copy):
		return m.copySelected()
	case key.Matches(k, km.RecordsTable):
		return m.toggleRecordsTable()
	case key.Matches(k, km.CancelTask) && m.detail.Tab == detail.TabTasks:
		return m.cancelTask()
	case key.Matches(k, km.Follow):
		m.detail.SetTab(detail.TabLogs)
		return m.flash(footer.Info, onOff("follow", m.detail.ToggleFollow(m.store)))
	case key.Matches(k, km.Wrap):
		return m.flash(footer.Info, onOff("wrap", m.detail.ToggleWrap()))
	case key.Matches(k, km.Timestamps):
		return m.flash(footer.Info, onOff("timestamps", m.detail.ToggleTimes()))
	case key.Matches(k, km.Enter):
		if m.detail.Enter() {
			m.focus = paneDetail
		}
	case key.Matches(k, km.Back) && m.focus == panePlugins:
		m.tableEsc() // the table's filter, then its marks; never the hidden pane's search
	case key.Matches(k, km.Back):
		if !m.detail.Back() {
			m.detail.SetFilter("")
		}
	default:
		if cmd, ok := m.tableKey(k); ok {
			return cmd
		}
		m.move(k)
	}
	return nil
}

// move handles the movement keys for the focused pane.
func (m *Model) move(k tea.KeyPressMsg) {
	km := m.c.Keys
	page := max(m.layout().detail.h-4, 1)
	if m.focus == panePlugins {
		page = max(m.layout().table.h-3, 1)
	}
	n := 0
	switch {
	case key.Matches(k, km.Up):
		n = -1
	case key.Matches(k, km.Down):
		n = 1
	case key.Matches(k, km.PageUp):
		n = -page
	case key.Matches(k, km.PageDown):
		n = page
	case key.Matches(k, km.Top):
		m.top(page)
		return
	case key.Matches(k, km.Bottom):
		m.bottom()
		return
	default:
		return
	}
	m.scroll(m.focus, n)
}

func (m *Model) scroll(p pane, n int) {
	if p == panePlugins {
		m.table.Move(n)
		m.detail.Show(m.table.Selected)
		return
	}
	m.detail.Scroll(m.store, n)
}

func (m *Model) top(page int) {
	if m.focus == panePlugins {
		m.table.Top()
		m.detail.Show(m.table.Selected)
		return
	}
	m.detail.Top(m.store, page)
}

func (m *Model) bottom() {
	if m.focus == panePlugins {
		m.table.Bottom()
		m.detail.Show(m.table.Selected)
		return
	}
	m.detail.Bottom(m.store)
}

func onOff(what string, on bool) string {
	if on {
		return what + " on"
	}
	return what + " off"
}

func (m *Model) dialogKey(k tea.KeyPressMsg) tea.Cmd {
	switch m.dialog.Update(k) {
	case confirm.Yes:
		action := m.dialog.Action
		m.dialog = nil
		switch a := action.(type) {
		case stopAction:
			return m.lifecycle("stop", a.name)
		case quitAction:
			return m.beginStop()
		case bulkAction:
			return m.bulk(a)
		}
	case confirm.No:
		m.dialog = nil
	}
	return nil
}

func (m *Model) formMsg(msg tea.Msg) tea.Cmd {
	switch m.form.Update(msg) {
	case form.Submit:
		id, _ := m.form.ID()
		target, content := m.form.Target, m.form.Content()
		m.form = nil
		return m.sendTask(target, id, content)
	case form.Cancel:
		m.form = nil
	}
	return nil
}

func (m *Model) cmdMsg(msg tea.Msg) tea.Cmd {
	switch m.cmd.Update(msg, m.completions(), themeNames(m.userThemes)) {
	case cmdline.Run:
		line := m.cmd.Value()
		m.cmd = nil
		return m.run(line)
	case cmdline.Cancel:
		m.cmd = nil
	}
	return nil
}

// completions are plugin names and, for plugins with several instances,
// their instance ids.
func (m *Model) completions() []string {
	var out []string
	seen := map[string]bool{}
	for _, id := range m.store.Order() {
		name := m.store.Plugin(id).Status.Name
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
		if id != name {
			out = append(out, id)
		}
	}
	return out
}

// run executes a command line.
func (m *Model) run(line string) tea.Cmd {
	c, err := cmdline.Parse(line)
	if err != nil {
		return m.flash(footer.Error, err.Error())
	}
	switch c.Verb {
	case "send":
		return m.sendTask(c.Name, c.ID, c.Content)
	case "start", "restart":
		return m.lifecycle(c.Verb, c.Name)
	case "stop":
		// Typed in full, the command is its own confirmation.
		return m.lifecycle("stop", c.Name)
	case "ping":
		return m.ping(c.Name)
	case "theme":
		return m.themeByName(c.Name)
	case "sort":
		return m.sortCommand(c)
	case "filter":
		return m.filterCommand(c.Content)
	case "reload":
		return m.reload()
	case "export":
		return m.export(c.Name, c.Content)
	case "help":
		m.openHelp()
	case "messages":
		m.openMessages()
	case "quit":
		return m.quit()
	}
	return nil
}

// openFilter opens the filter input for the detail tab shown.
func (m *Model) openFilter() {
	if !m.detail.Filterable() { // Info, Events, Supervisor: the Logs tab's search
		m.detail.SetTab(detail.TabLogs)
	}
	if m.focus == paneDetail && m.detail.Tab == detail.TabLogs {
		m.openSearch() // regex search, n/N, and the filter forms
		return
	}
	prompt := map[detail.Tab]string{detail.TabLogs: "/", detail.TabData: "data_type /", detail.TabTasks: "tasks /"}[m.detail.Tab]
	if m.detail.Tab == detail.TabData && m.detail.Table() != "" {
		prompt = "field=value or text /"
	}
	in := input.New(prompt, "filter (esc clears)")
	in.Limit = plugins.MaxFilter
	in.SetValue(m.detail.Filter())
	in.Focus()
	m.filter = &in
}

// filterMsg edits the filter live: the pane narrows as the operator types.
func (m *Model) filterMsg(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "enter":
			m.filter = nil
			return nil
		case "esc", "ctrl+c":
			m.filter = nil
			m.detail.SetFilter("")
			return nil
		}
	}
	if m.filter.Update(msg) {
		m.detail.SetFilter(m.filter.Value())
		m.searchTyped()
	}
	return nil
}

// quit asks first when plugins would be stopped, then stops the engine and
// waits for it. Attached to a remote engine, or with the connection lost,
// it just leaves.
func (m *Model) quit() tea.Cmd {
	if m.opts.StopEngine == nil || m.lost {
		m.close()
		return tea.Quit
	}
	if n := m.store.Totals().Running; n > 0 {
		m.dialog = &confirm.Model{
			Title:   "Quit",
			Message: quitQuestion(m.store.Totals()),
			Action:  quitAction{},
		}
		return nil
	}
	return m.beginStop()
}

// beginStop stops the engine; the console shows each plugin stopping and
// leaves when EngineDone closes.
func (m *Model) beginStop() tea.Cmd {
	m.stopping = true
	stop, done := m.opts.StopEngine, m.opts.EngineDone
	m.flash(footer.Info, "stopping all plugins…")
	return func() tea.Msg {
		stop()
		if done == nil {
			return engineDoneMsg{}
		}
		return nil // watchEngine reports the end
	}
}

func plural(n int, one, many string) string { return render.Plural(n, one, many) }

func them(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}
