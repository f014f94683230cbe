package plugins

import (
	"cmp"
	"strconv"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// env is what a cell needs besides its plugin: the clock and the engine's
// heartbeat timeout, read once per frame.
type env struct {
	now       time.Time
	hbTimeout time.Duration
}

// column is one field of a plugin row. Columns are dropped from the lowest
// priority up until the row fits the pane.
type column struct {
	title    string
	width    int
	priority int // lower stays longer
	least    int // the width it may be narrowed to when even the columns that stay do not fit; 0: never narrowed
	right    bool
	cell     func(p *state.Plugin, e *env) string
	// compare orders two rows by this column, for sorting; now is the
	// clock at the time of sorting.
	compare func(a, b *state.Plugin, now time.Time) int
}

const dash = "-"

func columns(nameWidth int) []column {
	return []column{
		{title: "NAME", width: nameWidth, least: 8, cell: func(p *state.Plugin, _ *env) string { return localName(p.Status) }, compare: byName},
		{title: "STATE", width: 10, cell: stateText,
			compare: func(a, b *state.Plugin, _ time.Time) int { return cmp.Compare(a.Status.State, b.Status.State) }},
		{title: "PID", width: 7, priority: 2, right: true, cell: func(p *state.Plugin, _ *env) string { return orDash(p.Status.PID) },
			compare: func(a, b *state.Plugin, _ time.Time) int { return cmp.Compare(a.Status.PID, b.Status.PID) }},
		{title: "UPTIME", width: 7, priority: 1, right: true, cell: uptime,
			compare: func(a, b *state.Plugin, now time.Time) int {
				return cmp.Compare(a.Status.Uptime(now), b.Status.Uptime(now))
			}},
		{title: "RST", width: 3, priority: 3, right: true, cell: func(p *state.Plugin, _ *env) string { return strconv.Itoa(p.Status.Restarts) },
			compare: func(a, b *state.Plugin, _ time.Time) int { return cmp.Compare(a.Status.Restarts, b.Status.Restarts) }},
		{title: "HEARTBEAT", width: 12, priority: 6, right: true, cell: heartbeat,
			compare: func(a, b *state.Plugin, now time.Time) int {
				return cmp.Compare(heartbeatAge(a, now), heartbeatAge(b, now))
			}},
		{title: "REC/S", width: 6, priority: 1, right: true, cell: func(p *state.Plugin, _ *env) string { return render.Rate(p.Status.RecordsPerSec) },
			compare: byRate},
		{title: "TREND", width: 10, priority: 7, cell: trend, compare: byRate},
		{title: "CPU", width: 6, priority: 4, right: true, cell: cpu,
			compare: func(a, b *state.Plugin, _ time.Time) int {
				return cmp.Compare(a.Status.CPUPercent, b.Status.CPUPercent)
			}},
		{title: "RSS", width: 7, priority: 5, right: true, cell: rss,
			compare: func(a, b *state.Plugin, _ time.Time) int { return cmp.Compare(a.Status.RSS, b.Status.RSS) }},
		{title: "VERSION", width: 9, priority: 8, cell: version,
			compare: func(a, b *state.Plugin, _ time.Time) int { return state.Natural(version(a, nil), version(b, nil)) }},
		// Last, so that the other columns' indexes (the sort) do not move;
		// drawn first, and only over many hosts (shownColumns).
		{title: hostTitle, width: len(hostTitle), least: 6, cell: hostCell, compare: byHost},
	}
}

// markWidth is the mark column's: a cell and its separator, at every width.
const markWidth = 2

// fit keeps the columns that fit in w cells (one space between columns),
// after the mark column.
func fit(cols []column, w int) []column {
	w -= markWidth
	for maxPrio := 8; maxPrio >= 0; maxPrio-- {
		var out []column
		total := -1
		for _, c := range cols {
			if c.priority <= maxPrio {
				out = append(out, c)
				total += c.width + 1
			}
		}
		if total <= w || maxPrio == 0 {
			return narrow(out, total-w)
		}
	}
	return cols
}

// narrow takes excess cells from the columns that may be narrowed, in
// the order drawn (HOST, then NAME), so that a long host or name on a
// narrow console is cut with … rather than pushing the state off the row.
func narrow(cols []column, excess int) []column {
	for i := range cols {
		if excess <= 0 {
			break
		}
		if c := &cols[i]; c.least > 0 && c.width > c.least {
			by := min(excess, c.width-c.least)
			c.width -= by
			excess -= by
		}
	}
	return cols
}

func byRate(a, b *state.Plugin, _ time.Time) int {
	return cmp.Compare(a.Status.RecordsPerSec, b.Status.RecordsPerSec)
}

func orDash(n int) string {
	if n <= 0 {
		return dash
	}
	return strconv.Itoa(n)
}

func live(st supervisor.State) bool {
	return st == supervisor.StateRunning || st == supervisor.StateStarting || st == supervisor.StateStopping
}

func uptime(p *state.Plugin, e *env) string {
	if d := p.Status.Uptime(e.now); d > 0 {
		return render.Age(d)
	}
	return dash
}

// stateText is a state as symbol and word, never colour alone; in backoff,
// with the time left until the next attempt.
func stateText(p *state.Plugin, e *env) string {
	st := p.Status
	s := pvctx.Symbol(st.State) + " " + string(st.State)
	if st.State == supervisor.StateBackoff && !st.NextStart.IsZero() {
		s += " " + render.Duration(max(st.NextStart.Sub(e.now), 0))
	}
	return s
}

// beatOf is the last heartbeat of the current process, if it has had one.
// The engine reports the Unix epoch before the first pong, and the console
// keeps the newest heartbeat it saw, which after a restart is the previous
// process's until the new one answers: a heartbeat older than the process
// (or than its entering its state, when starting or running) is not its.
func beatOf(st supervisor.PluginStatus) (time.Time, bool) {
	if st.LastHeartbeat.Unix() <= 0 || !live(st.State) {
		return time.Time{}, false
	}
	born := st.Started
	if (st.State == supervisor.StateStarting || st.State == supervisor.StateRunning) && st.Since.After(born) {
		born = st.Since
	}
	if st.LastHeartbeat.Before(born) {
		return time.Time{}, false
	}
	return st.LastHeartbeat, true
}

// heartbeatAge sorts instances without a heartbeat after every one with.
func heartbeatAge(p *state.Plugin, now time.Time) time.Duration {
	if t, ok := beatOf(p.Status); ok {
		return now.Sub(t)
	}
	return time.Duration(1<<63 - 1)
}

// heartbeat is the age of the last heartbeat and its round trip.
func heartbeat(p *state.Plugin, e *env) string {
	t, ok := beatOf(p.Status)
	if !ok {
		return dash
	}
	rtt := dash
	if p.Status.HeartbeatRTT > 0 {
		rtt = render.Duration(p.Status.HeartbeatRTT)
	}
	return render.Age(e.now.Sub(t)) + "/" + rtt
}

// lateness grades a heartbeat's age against the engine's timeout: late
// past half of it, nearly hung past 80%, so a stalling plugin stands out
// before the engine declares it hung.
type lateness int

const (
	onTime lateness = iota
	late
	nearlyHung
)

func beatLateness(p *state.Plugin, e *env) lateness {
	t, ok := beatOf(p.Status)
	if !ok || e.hbTimeout <= 0 {
		return onTime
	}
	switch age := e.now.Sub(t); {
	case age*5 > e.hbTimeout*4:
		return nearlyHung
	case age*2 > e.hbTimeout:
		return late
	}
	return onTime
}

// trend is the records/s history; an instance without a process has none.
func trend(p *state.Plugin, _ *env) string {
	if !live(p.Status.State) {
		return dash
	}
	n := p.Rates.Len()
	vals := make([]float64, 0, 10)
	for i := max(n-10, 0); i < n; i++ {
		vals = append(vals, p.Rates.At(i))
	}
	return render.Sparkline(vals, 10)
}

func cpu(p *state.Plugin, _ *env) string {
	if !live(p.Status.State) {
		return dash
	}
	return strconv.FormatFloat(p.Status.CPUPercent, 'f', 1, 64) + "%"
}

// rss is unknown (not zero) until the engine has sampled the process.
func rss(p *state.Plugin, _ *env) string {
	if !live(p.Status.State) || p.Status.RSS <= 0 {
		return dash
	}
	return render.Bytes(p.Status.RSS)
}

func version(p *state.Plugin, _ *env) string {
	if v := p.Status.PluginVersion; v != "" {
		return v
	}
	if v := p.Status.Version; v != "" {
		return v
	}
	return dash
}

// columnIndex finds a column by its title, case-insensitively, for :sort.
func columnIndex(title string) (int, bool) {
	for i, c := range columns(0) {
		if equalFold(c.title, title) {
			return i, true
		}
	}
	return 0, false
}

// ColumnTitles lists the columns :sort accepts.
func ColumnTitles() []string {
	cols := columns(0)
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.title
	}
	return out
}
