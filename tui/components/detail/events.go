package detail

import (
	"strings"

	"github.com/plugvisor/plugvisor/internal/ring"
	"github.com/plugvisor/plugvisor/supervisor"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// tail is a view of a ring of events newest at the bottom, as logs are:
// following keeps the newest in view; scrolling up pins the view to the
// event at its bottom (by arrival number) however fast new ones come.
type tail struct {
	pinned bool
	bottom uint64 // seq of the last event shown when pinned
}

type events = ring.Ring[supervisor.Event]

// end is the ring index of the last matching event to show, or -1.
func (t *tail) end(r *events, match func(*supervisor.Event) bool) int {
	last := r.Len() - 1
	if t.pinned {
		last = min(int(int64(t.bottom)-int64(base(r))-1), last)
	}
	for ; last >= 0; last-- {
		if match(r.Ptr(last)) {
			return last
		}
	}
	for i := 0; i < r.Len(); i++ {
		if match(r.Ptr(i)) {
			return i
		}
	}
	return -1
}

// scroll moves n matching events up (n > 0) or down (n < 0); back at the
// newest, it follows again.
func (t *tail) scroll(r *events, match func(*supervisor.Event) bool, n int) {
	at := func(j int) bool { return match(r.Ptr(j)) }
	i := t.end(r, match)
	if i < 0 {
		return
	}
	step := -1
	if n < 0 {
		step, n = 1, -n
	}
	for j := i + step; n > 0 && j >= 0 && j < r.Len(); j += step {
		if at(j) {
			i, n = j, n-1
		}
	}
	newest := -1
	for j := r.Len() - 1; j >= 0 && newest < 0; j-- {
		if at(j) {
			newest = j
		}
	}
	t.bottom, t.pinned = seqOf(r, i), i != newest
}

// top pins the view to the oldest events.
func (t *tail) top(r *events, match func(*supervisor.Event) bool, rows int) {
	n := 0
	for i := 0; i < r.Len(); i++ {
		if match(r.Ptr(i)) {
			t.bottom, t.pinned = seqOf(r, i), true
			if n++; n >= rows {
				return
			}
		}
	}
}

// screen draws rows rows of events ending at the view's bottom, each
// event as format's rows. It formats only the events it shows.
func (t *tail) screen(r *events, match func(*supervisor.Event) bool, format func(*supervisor.Event) []string, rows int) []string {
	end := t.end(r, match)
	var shown [][]string
	used := 0
	for i := end; i >= 0 && used < rows; i-- {
		if e := r.Ptr(i); match(e) {
			f := format(e)
			shown, used = append(shown, f), used+len(f)
		}
	}
	var out []string
	for i := len(shown) - 1; i >= 0; i-- {
		out = append(out, shown[i]...)
	}
	if len(out) > rows { // the oldest event shown was wrapped past the top
		out = out[len(out)-rows:]
	}
	return out
}

// eventsView lists state changes, newest last: of the selected plugin, or
// of all plugins.
type eventsView struct {
	tail
	all bool
}

func (v *eventsView) match(plugin string) func(*supervisor.Event) bool {
	if v.all {
		return func(*supervisor.Event) bool { return true }
	}
	return func(e *supervisor.Event) bool { return e.Plugin == plugin }
}

func (v *eventsView) lines(c *pvctx.Context, s *state.Store, plugin string, w, h int) []string {
	st := c.Styles
	r := s.Events()
	match := v.match(plugin)
	rows := h - 1
	out := v.screen(r, match, func(e *supervisor.Event) []string { return eventLines(c, e, w) }, rows)
	if len(out) == 0 {
		out = append(out, st.Faint.Render("no state changes kept yet"))
	}
	for len(out) < rows {
		out = append(out, "")
	}
	scope := st.Accent.Render(plugin)
	if v.all {
		scope = st.Accent.Render("all plugins")
	}
	status := []string{scope + st.Faint.Render(" · a: "+map[bool]string{true: "selected plugin", false: "all plugins"}[v.all]),
		st.Faint.Render(plural(count(r, func(i int) bool { return match(r.Ptr(i)) }), "state change", "state changes"))}
	if v.pinned {
		status = append(status, st.Faint.Render("G: newest"))
	}
	if n := r.Evicted(); n > 0 {
		status = append(status, st.Warn.Render(render.Count(n)+" older evicted"))
	}
	return append(out, render.Cut(strings.Join(status, st.Faint.Render(" · ")), w))
}

// eventLines draws a state change: time, instance, the transition and the
// exit, then the whole reason wrapped under it. An exit that does not fit
// beside the transition goes under it, before the reason: it is never cut.
func eventLines(c *pvctx.Context, e *supervisor.Event, w int) []string {
	st := c.Styles
	head := st.Faint.Render(e.Time.Format(timeFormat)+" ") + st.Title.Render(render.Sanitize(e.Instance)) + " " +
		st.State(e.Prev).Render(string(e.Prev)) + st.Faint.Render(" → ") + st.State(e.State).Render(pvctx.Symbol(e.State)+" "+string(e.State))
	const indent = "    "
	var under []string
	if x := e.Exit; x != nil {
		exit := x.String()
		if x.Limit != "" {
			exit += " at " + x.Limit
		}
		if render.Width(head)+2+render.Width(exit) <= w {
			head += "  " + st.Exit(*x).Render(exit)
		} else {
			under = append(under, indent+st.Exit(*x).Render(exit))
		}
	}
	out := append([]string{render.Cut(head, w)}, under...)
	for _, l := range render.WrapWords(render.Sanitize(e.Reason), max(w-len(indent), 1)) {
		out = append(out, indent+st.Text.Render(l))
	}
	return out
}

// narrowTitle reports whether the title bar is too narrow for every tab's
// name beside the instance's name and state: the history tabs, newest,
// then show only their number when they are not the one shown.
func narrowTitle(p *state.Plugin, w int) bool {
	n := 3 + 2 // the corners and the rule's start
	for i, name := range tabNames {
		n += len(tabLabel(i, name, false)) + 2
	}
	if p != nil {
		n += 3 + render.Width(p.Status.Instance) + 1 + render.Width(stateLabel(p.Status)) + 2
	}
	return n > w
}

// tabLabel is a tab's label in the title bar.
func tabLabel(i int, name string, compact bool) string {
	if compact && Tab(i) >= TabEvents {
		return itoa(i + 1)
	}
	return itoa(i+1) + " " + name
}

// ToggleAll switches the Events tab between the selected plugin and all
// plugins, and reports whether it now shows all.
func (m *Model) ToggleAll() bool {
	m.rev++
	m.events.all = !m.events.all
	m.events.tail = tail{}
	return m.events.all
}
