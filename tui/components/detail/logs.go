package detail

import (
	"strings"

	"github.com/plugvisor/plugvisor/internal/ring"
	"github.com/plugvisor/plugvisor/supervisor"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// logView shows an instance's stdout and stderr interleaved, newest at the
// bottom. Following keeps the newest line in view; scrolling up stops
// following and pins the view to the line at its bottom (bottom, by arrival
// number) however fast new lines come.
type logView struct {
	follow bool
	wrap   bool
	times  bool
	filter string
	bottom uint64 // seq of the last line shown when not following
}

const timeFormat = "15:04:05.000"

func (v *logView) match(logs *ring.Ring[supervisor.LogLine]) func(int) bool {
	if v.filter == "" {
		return func(int) bool { return true }
	}
	return func(i int) bool { return render.IndexFold(logs.At(i).Text, v.filter) >= 0 }
}

// end is the ring index of the last line to show.
func (v *logView) end(logs *ring.Ring[supervisor.LogLine], match func(int) bool) int {
	last := logs.Len() - 1
	if !v.follow {
		last = min(int(int64(v.bottom)-int64(base(logs))-1), last)
	}
	for ; last >= 0; last-- {
		if match(last) {
			return last
		}
	}
	// The pinned line left the buffer, or nothing before it matches: show
	// from the oldest match.
	for i := 0; i < logs.Len(); i++ {
		if match(i) {
			return i
		}
	}
	return -1
}

// scroll moves the view n matching lines up (n > 0) or down (n < 0).
func (v *logView) scroll(logs *ring.Ring[supervisor.LogLine], n int) {
	match := v.match(logs)
	i := v.end(logs, match)
	if i < 0 {
		return
	}
	step := -1
	if n < 0 {
		step, n = 1, -n
	}
	for j := i + step; n > 0 && j >= 0 && j < logs.Len(); j += step {
		if match(j) {
			i = j
			n--
		}
	}
	v.bottom = seqOf(logs, i)
	last := -1
	for j := logs.Len() - 1; j >= 0; j-- {
		if match(j) {
			last = j
			break
		}
	}
	// Scrolling back down to the newest line resumes following.
	v.follow = i == last
}

// top pins the view to the oldest lines.
func (v *logView) top(logs *ring.Ring[supervisor.LogLine], rows int) {
	match := v.match(logs)
	v.follow = false
	n := 0
	for i := 0; i < logs.Len(); i++ {
		if match(i) {
			v.bottom = seqOf(logs, i)
			if n++; n >= rows {
				return
			}
		}
	}
}

// lines draws h rows: the log lines and a status line.
func (v *logView) lines(c *pvctx.Context, p *state.Plugin, w, h int) []string {
	st := c.Styles
	logs := p.Logs
	rows := h - 1
	match := v.match(logs)
	var out [][]string // per log line, its screen rows; newest first
	used := 0
	end := v.end(logs, match)
	for i := end; i >= 0 && used < rows; i-- {
		if match(i) {
			r := v.format(c, logs.At(i), w)
			out = append(out, r)
			used += len(r)
		}
	}
	// Pinned near the oldest line: fill the rest of the screen forward.
	var after [][]string
	for i := end + 1; i < logs.Len() && used < rows && end >= 0; i++ {
		if match(i) {
			r := v.format(c, logs.At(i), w)
			after = append(after, r)
			used += len(r)
		}
	}
	var screen []string
	for i := len(out) - 1; i >= 0; i-- {
		screen = append(screen, out[i]...)
	}
	for _, r := range after {
		screen = append(screen, r...)
	}
	if len(screen) > rows { // the oldest line shown was wrapped past the top
		screen = screen[len(screen)-rows:]
	}
	if logs.Len() == 0 {
		hint := "no output yet"
		if p.Status.State == supervisor.StateStopped || p.Status.State == supervisor.StateFailed {
			hint += " · s starts " + p.Status.Instance
		}
		screen = append(screen, st.Faint.Render(hint))
	} else if end < 0 {
		screen = append(screen, st.Faint.Render("no line matches the filter"))
	}
	for len(screen) < rows {
		screen = append(screen, "")
	}
	return append(screen, v.status(c, logs, match, w))
}

// format draws one log line as one row, or several when wrapping.
func (v *logView) format(c *pvctx.Context, l supervisor.LogLine, w int) []string {
	st := c.Styles
	prefix := st.Stdout.Render("out ")
	if l.Stream == supervisor.Stderr {
		prefix = st.Stderr.Render("err ")
	}
	pw := 4
	if v.times {
		prefix = st.Faint.Render(l.Time.Format(timeFormat)+" ") + prefix
		pw += len(timeFormat) + 1
	}
	text := render.Sanitize(l.Text)
	tw := max(w-pw, 1)
	if !v.wrap {
		return []string{prefix + render.Highlight(render.Cut(text, tw), v.filter, st.Text, st.Highlight)}
	}
	parts := render.Wrap(text, tw)
	out := make([]string, len(parts))
	pad := strings.Repeat(" ", pw)
	for i, part := range parts {
		lead := pad
		if i == 0 {
			lead = prefix
		}
		out[i] = lead + render.Highlight(part, v.filter, st.Text, st.Highlight)
	}
	return out
}

func (v *logView) status(c *pvctx.Context, logs *ring.Ring[supervisor.LogLine], match func(int) bool, w int) string {
	st := c.Styles
	flag := func(name string, on bool) string {
		if on {
			return st.Accent.Render(name + " on")
		}
		return st.Faint.Render(name + " off")
	}
	parts := []string{flag("follow", v.follow), flag("wrap", v.wrap), flag("time", v.times)}
	if v.filter != "" {
		parts = append(parts, st.Accent.Render("filter ")+st.Highlight.Render(v.filter)+
			st.Faint.Render(" "+itoa(count(logs, match))+" match"))
	}
	parts = append(parts, st.Faint.Render(itoa(logs.Len())+"/"+itoa(logs.Limit())+" lines"))
	return render.Cut(strings.Join(parts, st.Faint.Render(" · ")), w)
}

func itoa(n int) string { return render.Count(uint64(max(n, 0))) }
