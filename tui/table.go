package tui

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/tui/components/cmdline"
	"github.com/plugvisor/plugvisor/tui/components/confirm"
	"github.com/plugvisor/plugvisor/tui/components/footer"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// The glue between the root model and the plugins table: its keys, its
// filter input, its cached picture, and the actions on marked rows.

// tableCacheKey is the table's cache key: besides the store's rows and the
// clock, the table's own revision (rows shown, marks, filter, sort).
type tableCacheKey struct {
	w, h, themeRev int
	rows, rev      uint64
	sec            int64
	sel            string
	cursor         int
	focused        bool
}

// tableView is the table's picture, drawn again only when its key changes.
func (m *Model) tableView(l layout, focused bool, sec int64) string {
	m.syncSelection() // cheap unless the rows changed; keeps the detail on the selection
	k := tableCacheKey{l.table.w, l.table.h, m.c.ThemeRev, m.store.RowsRev(), m.table.Rev(), sec,
		m.table.Selected, m.table.Cursor(), focused}
	return m.cache.table.get(k, func() string {
		return m.table.View(m.c, m.store, l.table.w, l.table.h, focused)
	})
}

// tableKey handles the table's own bindings; it reports false for any
// other key.
func (m *Model) tableKey(k tea.KeyPressMsg) (tea.Cmd, bool) {
	km := m.c.Keys
	switch {
	case key.Matches(k, km.Sort):
		m.table.NextSort()
	case key.Matches(k, km.SortFlip):
		m.table.FlipSort()
	case key.Matches(k, km.Mark):
		m.table.ToggleMark()
		return nil, true
	case key.Matches(k, km.MarkAll):
		m.table.MarkAll()
		return nil, true
	default:
		return nil, false
	}
	m.syncSelection()
	return m.flash(footer.Info, "sorted by "+m.table.Sort()), true
}

// tableEsc clears the table's filter, or else its marks, and reports
// whether it did either.
func (m *Model) tableEsc() bool {
	if m.table.ClearFilter() || m.table.ClearMarks() {
		m.syncSelection()
		return true
	}
	return false
}

// tableFilterMsg edits the table's filter: the rows narrow as the operator
// types, the selection staying on its instance while it is shown.
func (m *Model) tableFilterMsg(msg tea.Msg) tea.Cmd {
	m.table.FilterMsg(msg)
	m.syncSelection()
	return nil
}

// sortCommand runs ":sort COLUMN [asc|desc]".
func (m *Model) sortCommand(c cmdline.Command) tea.Cmd {
	if err := m.table.SortBy(c.Name, c.Content); err != nil {
		return m.flash(footer.Error, err.Error())
	}
	m.syncSelection()
	return m.flash(footer.Info, "sorted by "+m.table.Sort())
}

// filterCommand sets the table's filter as / would (:filter env=prod);
// with no text it clears it.
func (m *Model) filterCommand(f string) tea.Cmd {
	m.table.SetFilter(f)
	m.syncSelection()
	if f = m.table.Filter(); f == "" {
		return m.flash(footer.Info, "filter cleared")
	}
	n := len(m.table.Rows())
	return m.flash(footer.Info, "filter "+render.Sanitize(f)+": "+plural(n, "instance", "instances")+" of "+strconv.Itoa(m.store.Len()))
}

// lifecycleKey is s, x or r: on the marked rows' plugins when rows are
// marked, otherwise on the selected instance. An action with nothing to do
// says so instead of calling the engine.
func (m *Model) lifecycleKey(op, sel string) tea.Cmd {
	if marked := m.table.Marked(m.store); len(marked) > 0 {
		return m.confirmBulk(op, marked)
	}
	if sel == "" {
		return m.flash(footer.Warn, "no plugin selected")
	}
	if cmd, down := m.refuseHostDown(op+" "+sel, sel); down {
		return cmd // its state is as last seen: neither needless nor worth a dialog
	}
	if why := needless(op, m.statesOf(sel)); why != "" {
		return m.flash(footer.Info, sel+" "+why)
	}
	if op == "stop" {
		m.dialog = &confirm.Model{Title: "Stop " + sel, Message: "Stop " + sel + "? It gets SIGTERM, then SIGKILL after the grace period.", Action: stopAction{sel}}
		return nil
	}
	return m.lifecycle(op, sel)
}

// statesOf is the state of every instance name covers (a plugin name or an
// instance id).
func (m *Model) statesOf(name string) []supervisor.State {
	var out []supervisor.State
	for _, id := range m.store.Order() {
		if st := m.store.Plugin(id).Status; id == name || st.Name == name {
			out = append(out, st.State)
		}
	}
	return out
}

// needless says why op would do nothing to instances in states, or "".
func needless(op string, states []supervisor.State) string {
	if len(states) == 0 {
		return ""
	}
	up := func(s supervisor.State) bool { return s == supervisor.StateRunning || s == supervisor.StateStarting }
	switch {
	case op == "start" && !slices.ContainsFunc(states, func(s supervisor.State) bool { return !up(s) }):
		return "is already running"
	case op == "stop" && !slices.ContainsFunc(states, state.Live):
		return "is not running"
	}
	return ""
}

// bulkAction is a confirmed action on the marked instances.
type bulkAction struct {
	op  string
	ids []string
}

// bulkMsg is how a bulk action ended: each instance's error (nil: done).
type bulkMsg struct {
	op      string
	ids     []string
	errs    []error
	skipped []string // nothing to do (already running, not running)
	down    string   // the instances not tried, their host not answering, and why; "" if none
	took    time.Duration
}

// maxListed bounds the plugin names a dialog or flash lists.
const maxListed = 8

// confirmBulk asks once before acting on the marked instances: a mark is
// on one instance, so only that instance is started or stopped, not every
// instance of its plugin.
func (m *Model) confirmBulk(op string, marked []string) tea.Cmd {
	var ids []string
	for _, id := range marked {
		if m.store.Plugin(id) != nil && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	verb := strings.ToUpper(op[:1]) + op[1:]
	head := fmt.Sprintf("%s %s: ", verb, plural(len(ids), "instance", "instances"))
	// The dialog draws its message on one line: the ids listed are those
	// that fit, and a count of the others.
	msg := head + namesWithin(ids, m.c.Width-10-render.Width(head)) + "?"
	if tail := " They get SIGTERM, then SIGKILL after the grace period."; op == "stop" && render.Width(msg+tail) <= m.c.Width-8 {
		msg += tail
	}
	m.dialog = &confirm.Model{Title: fmt.Sprintf("%s %s", verb, plural(len(ids), "instance", "instances")),
		Message: msg, Action: bulkAction{op: op, ids: ids}}
	return nil
}

// stateOf is the instance's state alone, for needless.
func (m *Model) stateOf(id string) []supervisor.State {
	if p := m.store.Plugin(id); p != nil {
		return []supervisor.State{p.Status.State}
	}
	return nil
}

// namesWithin lists names in at most w cells, the last of them "and N
// more" when not all fit.
func namesWithin(names []string, w int) string {
	for n := min(len(names), maxListed); n > 0; n-- {
		s := listNames(names[:n])
		if n < len(names) {
			s += fmt.Sprintf(" and %d more", len(names)-n)
		}
		if render.Width(s) <= w || n == 1 {
			return s
		}
	}
	return ""
}

func listNames(names []string) string {
	if len(names) <= maxListed {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:maxListed], ", ") + fmt.Sprintf(" and %d more", len(names)-maxListed)
}

// bulk runs a confirmed bulk action, every instance at once (the API's
// Start, Stop and Restart take an instance id), and reports the whole as
// one message.
func (m *Model) bulk(a bulkAction) tea.Cmd {
	if m.lost {
		return m.refuseLost(a.op + " " + listNames(a.ids))
	}
	var todo, skipped, down []string
	for _, n := range a.ids {
		switch {
		case m.hostDown(n) != "": // its state is as last seen: not tried
			down = append(down, n)
		case needless(a.op, m.stateOf(n)) != "":
			skipped = append(skipped, n)
		default:
			todo = append(todo, n)
		}
	}
	var downWords string
	if len(down) > 0 {
		downWords = m.downText(down)
	}
	if len(todo) == 0 {
		if len(down) > 0 {
			text := downWords
			if len(skipped) > 0 {
				text += "; " + listNames(skipped) + ": " + needlessText(a.op)
			}
			return m.flash(footer.Error, text)
		}
		return m.flash(footer.Info, listNames(skipped)+": "+needlessText(a.op))
	}
	api := m.api
	call := map[string]func(context.Context, string) error{"start": api.Start, "stop": api.Stop, "restart": api.Restart}[a.op]
	doing, _ := forms(a.op)
	m.flash(footer.Info, doing+" "+plural(len(todo), "instance", "instances")+"…")
	return func() tea.Msg {
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), lifecycleDeadline)
		defer cancel()
		errs := make([]error, len(todo))
		var wg sync.WaitGroup
		for i, n := range todo {
			wg.Go(func() { errs[i] = call(ctx, n) })
		}
		wg.Wait()
		return bulkMsg{op: a.op, ids: todo, errs: errs, skipped: skipped, down: downWords, took: time.Since(t0)}
	}
}

// bulkDone reports a bulk action in one flash: how many were done, and
// each failure.
func (m *Model) bulkDone(msg bulkMsg) tea.Cmd {
	m.statesChanged = true
	_, done := forms(msg.op)
	var failed []string
	for i, err := range msg.errs {
		if err != nil {
			failed = append(failed, msg.ids[i]+": "+err.Error())
		}
	}
	ok := len(msg.ids) - len(failed)
	text := fmt.Sprintf("%s %s in %s", done, plural(ok, "instance", "instances"), render.Duration(msg.took))
	if len(msg.skipped) > 0 {
		text += fmt.Sprintf("; %s: %s", listNames(msg.skipped), needlessText(msg.op))
	}
	level := footer.OK
	if msg.down != "" {
		level = footer.Warn
		text += "; " + msg.down
	}
	if len(failed) > 0 {
		level = footer.Error
		text = fmt.Sprintf("%s: %d of %d failed (%s); %s", msg.op, len(failed), len(msg.ids), strings.Join(failed, "; "), text)
	}
	return tea.Batch(m.flash(level, text), m.maybeSnapshot())
}

// downText says which marked instances were not tried because their host
// does not answer, and why: one host's words when they share it.
func (m *Model) downText(down []string) string {
	why := m.hostDown(down[0])
	for _, n := range down[1:] {
		if m.hostDown(n) != why {
			why = "their hosts unreachable"
			break
		}
	}
	return listNames(down) + ": not sent, " + why
}

func needlessText(op string) string {
	if op == "start" {
		return "already running"
	}
	return "not running"
}

// quitQuestion asks before quitting with live plugins, telling those
// running from those waiting in backoff to restart.
func quitQuestion(t state.Totals) string {
	backoff := t.ByState[supervisor.StateBackoff]
	running := t.Running - backoff
	switch {
	case backoff == 0:
		return fmt.Sprintf("%s running. Stop %s and quit?", plural(running, "plugin is", "plugins are"), them(running))
	case running == 0:
		return fmt.Sprintf("%s in backoff, waiting to restart. Stop %s and quit?", plural(backoff, "plugin is", "plugins are"), them(backoff))
	}
	return fmt.Sprintf("%s running, %d in backoff. Stop them and quit?", plural(running, "plugin is", "plugins are"), backoff)
}
