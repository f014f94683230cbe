package detail

import (
	"strings"

	"github.com/plugvisor/plugvisor/supervisor"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// supLogView is the supervisor's own log, newest last, each record wrapped:
// time, level, message and its attributes.
type supLogView struct{ tail }

func everything(*supervisor.Event) bool { return true }

func (v *supLogView) lines(c *pvctx.Context, s *state.Store, w, h int) []string {
	st := c.Styles
	r := s.SupervisorLog()
	rows := h - 1
	out := v.screen(r, everything, func(e *supervisor.Event) []string { return supLogLines(c, e, w) }, rows)
	if len(out) == 0 {
		out = append(out, st.Faint.Render("nothing logged yet"))
	}
	for len(out) < rows {
		out = append(out, "")
	}
	status := []string{st.Faint.Render(itoa(r.Len()) + "/" + itoa(r.Limit()) + " lines of the supervisor's log, INFO and above")}
	if v.pinned {
		status = append(status, st.Faint.Render("G: newest"))
	}
	if n := r.Evicted(); n > 0 {
		status = append(status, st.Warn.Render(render.Count(n)+" older evicted"))
	}
	return append(out, render.Cut(strings.Join(status, st.Faint.Render(" · ")), w))
}

// supLogLines draws one record: its first row is the time and the level,
// then message and attributes wrapped under one indent.
func supLogLines(c *pvctx.Context, e *supervisor.Event, w int) []string {
	st := c.Styles
	l := e.SupervisorLog
	if l == nil {
		return nil
	}
	level := st.Faint
	switch l.Level {
	case "WARN":
		level = st.Warn
	case "ERROR":
		level = st.Error
	}
	lead := e.Time.Format(timeFormat) + " " + render.Fit(l.Level, 5) + " "
	text := render.Sanitize(l.Message)
	if l.Attrs != "" {
		text += "  " + render.Sanitize(l.Attrs)
	}
	parts := render.WrapWords(text, max(w-len(lead), 1))
	out := make([]string, len(parts))
	pad := strings.Repeat(" ", len(lead))
	for i, p := range parts {
		if i == 0 {
			out[i] = st.Faint.Render(e.Time.Format(timeFormat)+" ") + level.Render(render.Fit(l.Level, 5)) + " " + st.Text.Render(p)
			continue
		}
		out[i] = pad + st.Text.Render(p)
	}
	return out
}
