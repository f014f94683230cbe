package plugins

import (
	"strconv"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// column is one field of a plugin row. Columns are dropped from the lowest
// priority up until the row fits the pane.
type column struct {
	title    string
	width    int
	priority int // lower stays longer
	right    bool
	cell     func(p *state.Plugin, now time.Time) string
}

const dash = "-"

func columns(nameWidth int) []column {
	return []column{
		{title: "NAME", width: nameWidth, priority: 0, cell: func(p *state.Plugin, _ time.Time) string { return p.Status.Instance }},
		{title: "STATE", width: 10, priority: 0, cell: nil}, // drawn with its style by row
		{title: "PID", width: 7, priority: 2, right: true, cell: func(p *state.Plugin, _ time.Time) string { return orDash(p.Status.PID) }},
		{title: "UPTIME", width: 7, priority: 1, right: true, cell: uptime},
		{title: "RST", width: 3, priority: 3, right: true, cell: func(p *state.Plugin, _ time.Time) string { return strconv.Itoa(p.Status.Restarts) }},
		{title: "HEARTBEAT", width: 12, priority: 6, right: true, cell: heartbeat},
		{title: "REC/S", width: 6, priority: 1, right: true, cell: func(p *state.Plugin, _ time.Time) string { return render.Rate(p.Status.RecordsPerSec) }},
		{title: "TREND", width: 10, priority: 7, cell: trend},
		{title: "CPU", width: 6, priority: 4, right: true, cell: cpu},
		{title: "RSS", width: 7, priority: 5, right: true, cell: rss},
		{title: "VERSION", width: 9, priority: 8, cell: version},
	}
}

// fit keeps the columns that fit in w cells (one space between columns).
func fit(cols []column, w int) []column {
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
			return out
		}
	}
	return cols
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

func uptime(p *state.Plugin, now time.Time) string {
	if d := p.Status.Uptime(now); d > 0 {
		return render.Age(d)
	}
	return dash
}

// heartbeat is the age of the last heartbeat and its round trip.
func heartbeat(p *state.Plugin, now time.Time) string {
	st := p.Status
	// The engine reports the Unix epoch before the first pong.
	if st.LastHeartbeat.Unix() <= 0 || !live(st.State) {
		return dash
	}
	rtt := dash
	if st.HeartbeatRTT > 0 {
		rtt = render.Duration(st.HeartbeatRTT)
	}
	return render.Age(now.Sub(st.LastHeartbeat)) + "/" + rtt
}

// trend is the records/s history; an instance without a process has none.
func trend(p *state.Plugin, _ time.Time) string {
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

func cpu(p *state.Plugin, _ time.Time) string {
	if !live(p.Status.State) {
		return dash
	}
	return strconv.FormatFloat(p.Status.CPUPercent, 'f', 1, 64) + "%"
}

func rss(p *state.Plugin, _ time.Time) string {
	if !live(p.Status.State) || p.Status.RSS <= 0 {
		return dash
	}
	return render.Bytes(p.Status.RSS)
}

func version(p *state.Plugin, _ time.Time) string {
	if v := p.Status.PluginVersion; v != "" {
		return v
	}
	if v := p.Status.Version; v != "" {
		return v
	}
	return dash
}

// stateCell is a state as symbol and word, never colour alone.
func stateCell(st supervisor.State) string { return pvctx.Symbol(st) + " " + string(st) }
