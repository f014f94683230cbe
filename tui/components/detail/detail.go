// Package detail is the pane about the selected plugin: tabs for its logs, data, round trips and configuration.
package detail

import (
	"strings"

	"github.com/plugvisor/plugvisor/internal/ring"
	"github.com/plugvisor/plugvisor/supervisor"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// Tab is one of the detail pane's views.
type Tab int

// The tabs, in key order 1–6.
const (
	TabLogs Tab = iota
	TabData
	TabTasks
	TabInfo
	TabEvents     // state changes (events.go)
	TabSupervisor // the supervisor's own log (suplog.go)
)

var tabNames = [...]string{"Logs", "Data", "Tasks", "Info", "Events", "Supervisor"}

func (t Tab) String() string { return tabNames[t] }

// Model is the pane's state. Scroll positions are per pane, not per plugin:
// selecting another plugin starts its views afresh (filters and toggles stay).
type Model struct {
	Tab   Tab
	shown string // instance id the views are positioned for

	logs  logView
	data  dataView
	tasks taskView
	info  infoView

	events eventsView
	suplog supLogView

	rev  int   // bumped by every change of view state, for render caching
	tabs []int // x of each tab's start in the title, then the end, for clicks
}

// New makes the pane with the logs following.
func New() Model { return Model{logs: logView{follow: true}} }

// Show points the pane at an instance.
func (m *Model) Show(id string) {
	if id == m.shown {
		return
	}
	m.shown = id
	m.logs.follow, m.logs.bottom = true, 0
	m.data.list, m.data.expanded, m.data.table = list{}, false, ""
	m.tasks.list, m.tasks.expanded = list{}, false
	m.info.scroll = 0
	m.events.tail = tail{}
	m.rev++
}

// SetTab switches tabs.
func (m *Model) SetTab(t Tab) {
	if t != m.Tab {
		m.Tab = t
		m.rev++
	}
}

// Filter is the current tab's filter text.
func (m *Model) Filter() string {
	switch m.Tab {
	case TabLogs:
		return m.logs.filter
	case TabData:
		return m.data.filter
	case TabTasks:
		return m.tasks.filter
	}
	return ""
}

// Filterable reports whether the current tab has a filter.
func (m *Model) Filterable() bool { return m.Tab < TabInfo }

// SetFilter sets the current tab's filter.
func (m *Model) SetFilter(f string) {
	switch m.Tab {
	case TabLogs:
		m.logs.filter = f
	case TabData:
		m.data.filter, m.data.list = f, list{}
	case TabTasks:
		m.tasks.filter, m.tasks.list = f, list{}
	}
	m.rev++
}

// Toggles for the logs tab; each returns the new setting.
func (m *Model) ToggleFollow(s *state.Store) bool {
	m.rev++
	m.logs.follow = !m.logs.follow
	if !m.logs.follow {
		if p := s.Plugin(m.shown); p != nil {
			m.logs.pause(p.Logs)
		}
	}
	return m.logs.follow
}

// ToggleWrap switches line wrapping of logs.
func (m *Model) ToggleWrap() bool { m.rev++; m.logs.wrap = !m.logs.wrap; return m.logs.wrap }

// ToggleTimes switches log timestamps.
func (m *Model) ToggleTimes() bool { m.rev++; m.logs.times = !m.logs.times; return m.logs.times }

// Wrapping and Timing report the wrap and timestamp toggles.
func (m *Model) Wrapping() bool { return m.logs.wrap }

// Timing reports whether log lines show their time.
func (m *Model) Timing() bool { return m.logs.times }

// Following reports whether the logs follow new lines.
func (m *Model) Following() bool { return m.logs.follow }

// Scroll moves the current tab's view: n > 0 down (newer lines for logs,
// older items for lists), n < 0 up.
func (m *Model) Scroll(s *state.Store, n int) {
	m.rev++
	p := s.Plugin(m.shown)
	if p == nil {
		return
	}
	switch m.Tab {
	case TabLogs:
		m.logs.scroll(p, -n)
	case TabData:
		if m.data.expanded {
			m.data.scroll += n
			return
		}
		m.data.move(p.Records, m.data.match(p.Records), n)
	case TabTasks:
		ts, _ := s.Tasks(p.Status.Name)
		if m.tasks.expanded {
			m.tasks.scroll += n
			return
		}
		m.tasks.move(ts, m.tasks.match(ts), n)
	case TabInfo:
		m.info.scroll += n
	case TabEvents:
		m.events.scroll(s.Events(), m.events.match(p.Status.Name), -n)
	case TabSupervisor:
		m.suplog.scroll(s.SupervisorLog(), everything, -n)
	}
}

// Top goes to the oldest line (logs) or the newest item (lists), as g does.
func (m *Model) Top(s *state.Store, rows int) {
	m.rev++
	p := s.Plugin(m.shown)
	if p == nil {
		return
	}
	switch m.Tab {
	case TabLogs:
		m.logs.top(p, rows)
	case TabData:
		m.data.sel, m.data.scroll = 0, 0
	case TabTasks:
		m.tasks.sel, m.tasks.scroll = 0, 0
	case TabInfo:
		m.info.scroll = 0
	case TabEvents:
		m.events.top(s.Events(), m.events.match(p.Status.Name), rows)
	case TabSupervisor:
		m.suplog.top(s.SupervisorLog(), everything, rows)
	}
}

// Bottom goes to the newest line and follows (logs) or to the oldest item
// (lists), as G does.
func (m *Model) Bottom(s *state.Store) {
	m.rev++
	p := s.Plugin(m.shown)
	if p == nil {
		return
	}
	switch m.Tab {
	case TabLogs:
		m.logs.follow = true
	case TabData:
		m.data.oldest(p.Records, m.data.match(p.Records))
	case TabTasks:
		ts, _ := s.Tasks(p.Status.Name)
		m.tasks.oldest(ts, m.tasks.match(ts))
	case TabInfo:
		m.info.scroll = 1 << 20
	case TabEvents:
		m.events.tail = tail{}
	case TabSupervisor:
		m.suplog.tail = tail{}
	}
}

// Enter expands the selected record or round trip; Back closes it. Both
// report whether they did anything.
func (m *Model) Enter() bool {
	m.rev++
	switch m.Tab {
	case TabData:
		m.data.expanded, m.data.scroll = !m.data.expanded, 0
		return true
	case TabTasks:
		m.tasks.expanded, m.tasks.scroll = !m.tasks.expanded, 0
		return true
	}
	return false
}

// Back closes an expanded item.
func (m *Model) Back() bool {
	m.rev++
	switch {
	case m.Tab == TabData && m.data.expanded:
		m.data.expanded = false
		return true
	case m.Tab == TabTasks && m.tasks.expanded:
		m.tasks.expanded = false
		return true
	}
	return false
}

// Expanded reports whether an item is open.
func (m *Model) Expanded() bool {
	return (m.Tab == TabData && m.data.expanded) || (m.Tab == TabTasks && m.tasks.expanded)
}

// NewestTask selects the newest round trip, so a task just sent is in view.
func (m *Model) NewestTask() { m.rev++; m.tasks.list, m.tasks.expanded = list{}, false }

// Key is everything the pane's picture depends on; equal keys draw equal
// pictures, so the root re-renders only when the key changes.
type Key struct {
	W, H, ThemeRev, Rev int
	Focused             bool
	ID                  string
	State               supervisor.State
	Data                uint64 // revision of the buffer the tab shows
	Clock               int64  // for tabs that show ages
}

// Key computes the pane's cache key.
func (m *Model) Key(c *pvctx.Context, s *state.Store, w, h int, focused bool) Key {
	k := Key{W: w, H: h, ThemeRev: c.ThemeRev, Rev: m.rev, Focused: focused, ID: m.shown}
	p := s.Plugin(m.shown)
	if p == nil {
		return k
	}
	k.State = p.Status.State
	if p.Status.HostUnreachable {
		k.Clock = c.Now().Unix() // "last seen 12s ago" ticks
	}
	switch m.Tab {
	// Evicted too: another plugin's flood can trim this one's buffers
	// (state.Budgets' totals) without a push.
	case TabLogs:
		k.Data = p.Logs.Total() + p.Logs.Evicted()
	case TabData:
		k.Data = p.Records.Total() + p.Records.Evicted()
	case TabTasks:
		var ts *ring.Ring[*state.Task]
		if ts, k.Data = s.Tasks(p.Status.Name); anyPending(ts) {
			k.Clock = c.Now().Unix() // a pending row's elapsed time ticks
		}
	case TabInfo:
		k.Data = s.RowsRev()
	case TabEvents:
		k.Data = s.Events().Total() + s.Events().Evicted()
	case TabSupervisor:
		k.Data = s.SupervisorLog().Total() + s.SupervisorLog().Evicted()
	}
	return k
}

// View draws the pane w×h for the instance last passed to Show.
func (m *Model) View(c *pvctx.Context, s *state.Store, w, h int, focused bool) string {
	st := c.Styles
	border := st.Border
	if focused {
		border = st.FocusBorder
	}
	title := m.title(c, s, w)
	p := s.Plugin(m.shown)
	iw, ih := render.Inner(w), h-2
	gone := hostGone(c, p, iw)
	if gone != "" {
		ih-- // every tab says it first, then what it shows
	}
	var lines []string
	switch {
	case p == nil:
		lines = []string{st.Faint.Render("no plugin selected")}
	case m.Tab == TabLogs:
		lines = m.logs.lines(c, p, iw, ih)
	case m.Tab == TabData:
		lines = m.data.lines(c, p, iw, ih)
	case m.Tab == TabTasks:
		ts, _ := s.Tasks(p.Status.Name)
		lines = m.tasks.lines(c, ts, p.Status.Host, iw, ih)
	case m.Tab == TabEvents:
		lines = m.events.lines(c, s, p.Status.Name, iw, ih)
	case m.Tab == TabSupervisor:
		lines = m.suplog.lines(c, s, iw, ih)
	default:
		lines = m.info.lines(c, p, s.Info, iw, ih)
	}
	if gone != "" {
		lines = append([]string{gone}, lines...)
	}
	return render.Frame(border, title, lines, w, h)
}

// hostGone is the line every tab begins with while the instance's host
// (over many hosts) does not answer: what the tab shows is as last seen.
func hostGone(c *pvctx.Context, p *state.Plugin, w int) string {
	if p == nil || !p.Status.HostUnreachable {
		return ""
	}
	words := "⚠ host " + render.Sanitize(p.Status.Host) + " " +
		render.Unreachable(true, p.Status.HostLastSeen, c.Now()) + ": its last known state"
	return c.Styles.Warn.Render(render.Cut(words, w))
}

// title is the tab bar and the instance's name and state. It records where
// each tab is drawn so a click can be mapped to it.
func (m *Model) title(c *pvctx.Context, s *state.Store, w int) string {
	st := c.Styles
	var b strings.Builder
	m.tabs = m.tabs[:0]
	x := 3 // after "╭─ "
	compact := narrowTitle(s.Plugin(m.shown), w)
	for i, name := range tabNames {
		label := tabLabel(i, name, compact && Tab(i) != m.Tab)
		m.tabs = append(m.tabs, x)
		if Tab(i) == m.Tab {
			b.WriteString(st.TabActive.Render(label))
		} else {
			b.WriteString(st.TabInactive.Render(label))
		}
		x += len(label) + 2
	}
	m.tabs = append(m.tabs, x)
	if p := s.Plugin(m.shown); p != nil {
		b.WriteString(st.Faint.Render(" ─ ") + st.Title.Render(p.Status.Instance) + " " +
			st.State(p.Status.State).Render(stateLabel(p.Status)))
	}
	return b.String()
}

// TabAt maps a click on the pane's top border at column x (relative to the
// pane) to a tab.
func (m *Model) TabAt(x int) (Tab, bool) {
	for i := 0; i+1 < len(m.tabs); i++ {
		if x >= m.tabs[i] && x < m.tabs[i+1] {
			return Tab(i), true
		}
	}
	return 0, false
}
