// Package summary is the wide layout's at-a-glance pane for the selected plugin: its state and why, its process, its health.
package summary

import (
	"strconv"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// Height is the pane height that shows every line.
const Height = 11

// View draws the pane w×h for instance id.
func View(c *pvctx.Context, s *state.Store, id string, w, h int) string {
	st := c.Styles
	p := s.Plugin(id)
	if p == nil {
		return render.Frame(st.Border, st.Title.Render("Selected"), []string{st.Faint.Render("no plugin selected")}, w, h)
	}
	ps := p.Status
	now := c.Now()
	kv := func(k, v string) string {
		return st.Faint.Render(render.Fit(k, 10)) + st.Text.Render(render.Sanitize(v))
	}
	stateLine := st.Faint.Render(render.Fit("state", 10)) + st.State(ps.State).Render(pvctx.Symbol(ps.State)+" "+string(ps.State)) +
		st.Faint.Render(" for "+render.Age(now.Sub(ps.Since)))
	lines := []string{
		stateLine,
		kv("why", orDash(ps.Reason)),
		kv("process", "pid "+num(ps.PID)+" · pgid "+num(ps.PGID)+" · up "+uptime(ps, now)),
		// A last run the kernel ended at a limit is drawn as the exit
		// history draws it.
		kv("restarts", strconv.Itoa(ps.Restarts)) + st.Exit(ps.LastExit).Render(render.Sanitize(lastExit(ps))),
		kv("health", heartbeat(ps, now)),
		kv("tasks", tasks(ps)),
		kv("load", load(ps)),
	}
	if ps.Host != "" {
		host := ps.Host + " · " + render.Labels(ps.HostLabels)
		if ps.HostUnreachable {
			lines = append(lines, st.Warn.Render(render.Sanitize("⚠ host "+ps.Host+" "+render.Unreachable(true, ps.HostLastSeen, now))))
		} else {
			lines = append(lines, kv("host", host))
		}
	}
	if !ps.NextStart.IsZero() && ps.State == supervisor.StateBackoff {
		lines = append(lines, st.Warn.Render("next start in "+render.Age(ps.NextStart.Sub(now))))
	}
	return render.Frame(st.Border, st.Title.Render(ps.Instance)+st.Faint.Render(" at a glance"), lines, w, h)
}

func tasks(ps supervisor.PluginStatus) string {
	return strconv.Itoa(ps.InFlight) + " in flight · " + strconv.FormatUint(ps.TasksSent, 10) + " sent" +
		" · rtt p50 " + render.RTT(ps.RTTp50) + " p99 " + render.RTT(ps.RTTp99)
}

func load(ps supervisor.PluginStatus) string {
	if ps.PID <= 0 {
		return "-"
	}
	return render.Rate(ps.RecordsPerSec) + " rec/s · cpu " + strconv.FormatFloat(ps.CPUPercent, 'f', 1, 64) + "% · rss " + render.Bytes(ps.RSS)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func num(n int) string {
	if n <= 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

func uptime(ps supervisor.PluginStatus, now time.Time) string {
	if d := ps.Uptime(now); d > 0 {
		return render.Age(d)
	}
	return "-"
}

func lastExit(ps supervisor.PluginStatus) string {
	if ps.LastExit.Time.IsZero() {
		return ""
	}
	return " · last " + ps.LastExit.String() + ": " + ps.LastExit.Reason
}

func heartbeat(ps supervisor.PluginStatus, now time.Time) string {
	live := ps.State == supervisor.StateRunning || ps.State == supervisor.StateStopping
	if ps.LastHeartbeat.Unix() <= 0 || !live {
		return "no heartbeat"
	}
	return "heartbeat " + render.Age(now.Sub(ps.LastHeartbeat)) + " ago · rtt " + render.Duration(ps.HeartbeatRTT)
}
