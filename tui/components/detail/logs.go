package detail

import (
	"strings"

	"charm.land/lipgloss/v2"

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
	filter string // the search as typed; parsed into q when it changes
	bottom uint64 // seq of the last line shown when not following

	q     search
	hits  *hitMemo            // memos[shown]
	memos map[string]*hitMemo // per instance, for q: moving between rows does not rescan
	find  finder
	seen  uint64 // Total when following stopped: lines after it are new
	rows  int    // log rows last drawn, for placing a match found
	shown string // instance hits, find and seen are for
	jump  bool   // a search typed before its scan ended: go to the nearest match when it ends
}

const timeFormat = "15:04:05.000"

// prepare brings the parsed search and the per-line match results up to
// date with the filter text and the buffer, for the instance drawn.
// At most scanSlice bytes are matched per call: see SearchStep.
func (v *logView) prepare(p *state.Plugin) { v.prepareBudget(p, scanSlice) }

func (v *logView) prepareBudget(p *state.Plugin, budget int) {
	v.parse()
	if v.shown != p.Status.Instance || v.hits == nil {
		if v.shown != p.Status.Instance {
			v.find, v.seen = finder{}, 0
		}
		v.shown = p.Status.Instance
		v.hits = v.memo(p.Status.Instance)
	}
	v.hits.sync(p.Logs, &v.q, budget)
}

// parse brings the parsed search up to date with the text typed; the
// memos were for the old search.
func (v *logView) parse() {
	if v.q.raw == v.filter {
		return
	}
	v.q = parseSearch(v.filter)
	v.memos, v.hits = nil, nil
	v.find.cur = 0
}

// maxMemos bounds the instances whose matches are kept.
const maxMemos = 64

// memo is the instance's hit memo for the current search.
func (v *logView) memo(id string) *hitMemo {
	if h, ok := v.memos[id]; ok {
		return h
	}
	if v.memos == nil || len(v.memos) >= maxMemos {
		v.memos = map[string]*hitMemo{}
	}
	h := &hitMemo{}
	v.memos[id] = h
	return h
}

// match is whether ring index i is shown; prepare first.
func (v *logView) match(logs *ring.Ring[supervisor.LogLine]) func(int) bool {
	if v.q.mode == modeNone || v.q.mode == modeFind {
		return func(int) bool { return true }
	}
	return func(i int) bool { return v.q.shows(v.hits.at(i)) }
}

// pause stops following (f), keeping in view what is shown now; lines
// that arrive from here on are new.
func (v *logView) pause(logs *ring.Ring[supervisor.LogLine]) {
	v.follow = false
	v.bottom, v.seen = logs.Total(), logs.Total()
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
func (v *logView) scroll(p *state.Plugin, n int) {
	v.prepare(p)
	logs := p.Logs
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
	last := -1
	for j := logs.Len() - 1; j >= 0; j-- {
		if match(j) {
			last = j
			break
		}
	}
	v.pin(logs, i, i == last)
}

// pin puts ring index i at the bottom of the view; following resumes when
// it is the newest line.
func (v *logView) pin(logs *ring.Ring[supervisor.LogLine], i int, newest bool) {
	if v.follow && !newest {
		v.seen = logs.Total()
	}
	v.bottom = seqOf(logs, i)
	v.follow = newest
}

// top pins the view to the oldest lines.
func (v *logView) top(p *state.Plugin, rows int) {
	v.prepare(p)
	logs := p.Logs
	match := v.match(logs)
	if v.follow {
		v.seen = logs.Total()
	}
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

// fresh counts the lines that pass the filter, arrived since following
// stopped and lie past ring index last (the newest on screen).
func (v *logView) fresh(logs *ring.Ring[supervisor.LogLine], match func(int) bool, last int) int {
	if v.follow {
		return 0
	}
	n := 0
	for i := logs.Len() - 1; i > last && seqOf(logs, i) > v.seen; i-- {
		if match(i) {
			n++
		}
	}
	return n
}

// lines draws h rows: the log lines, the new-lines marker when there are
// new lines out of view, and a status line.
func (v *logView) lines(c *pvctx.Context, p *state.Plugin, w, h int) []string {
	v.prepare(p)
	st := c.Styles
	logs := p.Logs
	match := v.match(logs)
	rows := h - 1
	end := v.end(logs, match)
	fresh := v.fresh(logs, match, end)
	if fresh > 0 {
		rows-- // room for the marker
	}
	v.rows = max(rows, 1)
	var out [][]string // per log line, its screen rows; newest first
	used := 0
	for i := end; i >= 0 && used < rows; i-- {
		if match(i) {
			r := v.format(c, logs, i, w)
			out = append(out, r)
			used += len(r)
		}
	}
	// Pinned near the oldest line: fill the rest of the screen forward.
	var after [][]string
	shownLast := end
	for i := end + 1; i < logs.Len() && used < rows && end >= 0; i++ {
		if match(i) {
			r := v.format(c, logs, i, w)
			after = append(after, r)
			used += len(r)
			shownLast = i
		}
	}
	if shownLast > end {
		fresh = v.fresh(logs, match, shownLast) // the forward fill showed some
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
		// Not while its host does not answer: s is refused there.
		if (p.Status.State == supervisor.StateStopped || p.Status.State == supervisor.StateFailed) && !p.Status.HostUnreachable {
			hint += " · s starts " + p.Status.Instance
		}
		screen = append(screen, st.Faint.Render(hint))
	} else if end < 0 {
		screen = append(screen, st.Faint.Render("no line matches the filter"))
	}
	for len(screen) < rows {
		screen = append(screen, "")
	}
	switch {
	case fresh > 0:
		screen = append(screen, render.Cut(st.Accent.Render("+"+plural(fresh, "new line", "new lines"))+
			st.Faint.Render(" · f or G shows them"), w))
	case len(screen) == rows && rows < h-1:
		screen = append(screen, "") // the marker's row, all its lines in view
	}
	return append(screen, v.status(c, logs, w))
}

// format draws one log line as one row, or several when wrapping.
func (v *logView) format(c *pvctx.Context, logs *ring.Ring[supervisor.LogLine], i int, w int) []string {
	st := c.Styles
	l := logs.At(i)
	hl := st.Highlight
	if v.find.cur != 0 && seqOf(logs, i) == v.find.cur {
		hl = st.Selected // the match n and N are at
	}
	if l.Stream == state.Lifecycle {
		return v.marker(c, l, hl, w)
	}
	prefix := st.Stdout.Render("out ")
	if l.Stream == supervisor.Stderr {
		prefix = stderrStyle(st, l.Text).Render("err ")
	}
	pw := 4
	if v.times {
		prefix = st.Faint.Render(l.Time.Format(timeFormat)+" ") + prefix
		pw += len(timeFormat) + 1
	}
	text := render.Sanitize(l.Text)
	tw := max(w-pw, 1)
	if !v.wrap {
		cut := render.Cut(text, tw)
		return []string{prefix + highlight(cut, v.q.spans(cut), st.Text, hl)}
	}
	parts := render.Wrap(text, tw)
	out := make([]string, len(parts))
	pad := strings.Repeat(" ", pw)
	for i, part := range parts {
		lead := pad
		if i == 0 {
			lead = prefix
		}
		out[i] = lead + highlight(part, v.q.spans(part), st.Text, hl)
	}
	return out
}

// marker draws a lifecycle marker (a state change the store put in the
// stream) in its state's colour, set apart by rules.
func (v *logView) marker(c *pvctx.Context, l supervisor.LogLine, hl lipgloss.Style, w int) []string {
	st := c.Styles
	word, _, _ := strings.Cut(l.Text, ":")
	style := st.State(supervisor.State(word)).Bold(true)
	lead := ""
	if v.times {
		lead = st.Faint.Render(l.Time.Format(timeFormat) + " ")
	}
	text := render.Cut(render.Sanitize(l.Text), max(w-render.Width(lead)-6, 1))
	return []string{lead + style.Render("── ") + highlight(text, v.q.spans(text), style, hl) + style.Render(" ──")}
}

// stderrStyle is the style of a stderr line's stream marker: an error
// unless the line says it is of a lower level.
func stderrStyle(st pvctx.Styles, text string) lipgloss.Style {
	switch levelOf(text) {
	case levelDebug, levelInfo:
		return st.Stdout
	case levelWarn:
		return st.Warn
	}
	return st.Stderr
}

func (v *logView) status(c *pvctx.Context, logs *ring.Ring[supervisor.LogLine], w int) string {
	st := c.Styles
	flag := func(name string, on bool) string {
		if on {
			return st.Accent.Render(name + " on")
		}
		return st.Faint.Render(name + " off")
	}
	parts := []string{flag("follow", v.follow), flag("wrap", v.wrap), flag("time", v.times)}
	if s := v.searchStatus(c, logs); s != "" {
		parts = append(parts, s)
	}
	parts = append(parts, st.Faint.Render(itoa(logs.Len())+"/"+itoa(logs.Limit())+" lines"))
	return render.Cut(strings.Join(parts, st.Faint.Render(" · ")), w)
}

// searchStatus says what the search is and what it found.
func (v *logView) searchStatus(c *pvctx.Context, logs *ring.Ring[supervisor.LogLine]) string {
	st := c.Styles
	q := &v.q
	if q.mode != modeNone && v.hits != nil && v.hits.pending(logs) > 0 {
		return st.Accent.Render("searching ") + st.Highlight.Render(q.expr) +
			st.Faint.Render(" "+itoa(logs.Len()-v.hits.pending(logs))+"/"+itoa(logs.Len())+" lines")
	}
	switch q.mode {
	case modeNone:
		return ""
	case modeFind:
		n := v.hits.count()
		found := st.Faint.Render("no match")
		switch pos := v.find.position(logs, v.hits); {
		case n > 0 && pos > 0:
			found = st.Accent.Render("match " + itoa(pos) + "/" + itoa(n))
		case n > 0:
			found = st.Faint.Render(plural(n, "match", "matches") + " · n next")
		}
		return st.Accent.Render("search ") + st.Highlight.Render(q.expr) + " " + found
	case modeInverse:
		return st.Accent.Render("hide ") + st.Highlight.Render(q.expr) +
			st.Faint.Render(" "+plural(v.hits.count(), "line", "lines")+" hidden")
	case modeFuzzy:
		return st.Accent.Render("fuzzy ") + st.Highlight.Render(q.expr) +
			st.Faint.Render(" "+plural(v.hits.count(), "match", "matches"))
	}
	return st.Accent.Render("filter ") + st.Highlight.Render(q.expr) +
		st.Faint.Render(" "+plural(v.hits.count(), "match", "matches"))
}

// plural is n and the word that agrees with it.
func plural(n int, one, many string) string { return render.Plural(n, one, many) }

func itoa(n int) string { return render.Count(uint64(max(n, 0))) }
