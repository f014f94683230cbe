package detail

import (
	"cmp"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/plugvisor/plugvisor/supervisor"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// infoView is what the engine knows of an instance: how it runs, how it is
// contained, how it ended before; and how the host contains plugins at all,
// which is what an instance's containment lines mean.
type infoView struct{ scroll int }

// keyWidth is the label column; values line up after it.
const keyWidth = 12

func (v *infoView) lines(c *pvctx.Context, p *state.Plugin, info supervisor.Info, w, h int) []string {
	st := c.Styles
	body := processLines(c, p, w)
	body = append(body, containLines(c, p.Status, w)...)
	body = append(body, "", st.Title.Render("exit history")+st.Faint.Render(" (newest first)"))
	body = append(body, exitLines(c, p.Status.Exits, w)...)
	body = append(body, "", st.Title.Render("containment on this host"))
	body = append(body, hostLines(c, info, w)...)
	return v.page(c, body, h)
}

// page is the window of h lines onto body at the scroll position, the last
// line saying how much there is.
func (v *infoView) page(c *pvctx.Context, body []string, h int) []string {
	rows := h - 1
	v.scroll = min(max(v.scroll, 0), max(len(body)-rows, 0))
	out := append([]string(nil), body[v.scroll:min(v.scroll+rows, len(body))]...)
	for len(out) < rows {
		out = append(out, "")
	}
	return append(out, c.Styles.Faint.Render(strconv.Itoa(len(body))+" lines · j/k: scroll"))
}

// processLines are the instance's program, process and traffic, each
// value wrapped under its label: a reason or a digest is read whole.
func processLines(c *pvctx.Context, p *state.Plugin, w int) []string {
	s := p.Status
	version := render.OrDash(s.Version)
	if s.PluginVersion != "" {
		version += " (plugin says " + s.PluginVersion + ")"
	}
	var out []string
	add := func(k, val string) { out = append(out, hang(label(c, k), val, c.Styles.Text, w)...) }
	add("state", string(s.State)+" since "+render.Stamp(s.Since)+": "+s.Reason)
	add("exec", s.Exec)
	add("args", strings.Join(s.Args, " "))
	add("sha256", s.SHA256)
	add("signer", render.OrDash(Signer(s)))
	if signed := Signed(c, s); signed != "" {
		add("signed", signed)
	}
	add("version", version)
	add("protocol", strconv.Itoa(int(s.Protocol)))
	add("pid / pgid", render.OrDash(itoaInt(s.PID))+" / "+render.OrDash(itoaInt(s.PGID)))
	add("started", render.Stamp(s.Started))
	add("restarts", strconv.Itoa(s.Restarts))
	add("work dir", s.WorkDir)
	add("stdout log", s.StdoutLog)
	add("stderr log", s.StderrLog)
	add("tasks", TasksLine(s))
	add("traffic", "records in "+render.Uint(s.RecordsIn)+" · frames in/out "+render.Uint(s.FramesIn)+"/"+render.Uint(s.FramesOut)+
		" · bytes in/out "+render.Bytes(int64(s.BytesIn))+"/"+render.Bytes(int64(s.BytesOut)))
	add("kept here", kept(p.Records.Len(), p.Records.Bytes(), p.Records.Budget(), p.Records.Evicted(), "records")+
		" · "+kept(p.Logs.Len(), p.Logs.Bytes(), p.Logs.Budget(), p.Logs.Evicted(), "lines"))
	return out
}

// TasksLine counts an instance's round trips and their RTT percentiles.
func TasksLine(s supervisor.PluginStatus) string {
	return "sent " + render.Uint(s.TasksSent) + " · answered " + render.Uint(s.TasksAnswered) + " · failed " + render.Uint(s.TasksFailed) +
		" · timed out " + render.Uint(s.TasksTimedOut) + " · rtt p50 " + render.RTT(s.RTTp50) + " p99 " + render.RTT(s.RTTp99)
}

// containLines say how the current (or last) run is held: as whom, in
// which cgroup, under which limits, and what the limits stopped. The
// engine learns all of it when it starts a process, so before the first
// it has nothing to say, and "supervisor's own" would be a guess.
func containLines(c *pvctx.Context, s supervisor.PluginStatus, w int) []string {
	st := c.Styles
	if s.Started.IsZero() {
		return []string{label(c, "containment") + st.Faint.Render("known once it has started")}
	}
	out := []string{kv(c, "user", cmp.Or(s.User, "supervisor's own"))}
	out = append(out, hang(label(c, "cgroup"), cmp.Or(s.Cgroup, render.NoCgroup), st.Text, w)...)
	out = append(out, hang(label(c, "limits"), cmp.Or(s.Limits, "none"), st.Text, w)...)
	if s.LimitsNotEnforced != "" {
		out = append(out, hang(label(c, ""), "not enforced: "+s.LimitsNotEnforced, st.Warn, w)...)
	}
	return append(out, kv(c, "sandbox", render.YesNo(s.Sandboxed)), hitsLine(c, s))
}

// hitsLine counts what the limits stopped over every run; any at all is
// worth a look, so it is drawn as a warning.
func hitsLine(c *pvctx.Context, s supervisor.PluginStatus) string {
	style := c.Styles.Text
	if s.OOMKills > 0 || s.PidsLimitHits > 0 {
		style = c.Styles.Warn
	}
	return label(c, "limit hits") + style.Render("oom kills "+render.Uint(s.OOMKills)+" · pids_max hits "+render.Uint(s.PidsLimitHits))
}

// exitWidth holds "signal killed", how an OOM kill ends, and "signal
// aborted" whole.
const exitWidth = 14

// exitIndent starts the lines of a reason drawn under its exit.
const exitIndent = "    "

// exitLines are the past runs, newest first, each reason wrapped whole
// under its own column.
func exitLines(c *pvctx.Context, exits []supervisor.Exit, w int) []string {
	if len(exits) == 0 {
		return []string{c.Styles.Faint.Render("no exits")}
	}
	out := make([]string, 0, len(exits))
	for i := len(exits) - 1; i >= 0; i-- {
		e := exits[i]
		style := c.Styles.Exit(e)
		head := render.Stamp(e.Time) + "  " + render.Fit(render.Sanitize(e.String()), exitWidth) + " "
		reason := render.Sanitize(e.Reason)
		if render.Width(head)+render.Width(reason) <= w {
			out = append(out, style.Render(head+reason))
			continue
		}
		// Too long for the reason column: it goes under the line, wrapped
		// at a small indent, so a digest or a path stays on one line.
		out = append(out, style.Render(strings.TrimRight(head, " ")))
		out = append(out, hang(exitIndent, reason, style, w)...)
	}
	return out
}

// hostLines are the engine's containment lines, each feature under its
// name where the line has the "feature: how" shape, then the watchdog.
func hostLines(c *pvctx.Context, info supervisor.Info, w int) []string {
	if len(info.Containment) == 0 && info.WatchdogPID == 0 {
		return []string{c.Styles.Faint.Render("not reported by this supervisor")}
	}
	var out []string
	for _, line := range info.Containment {
		k, v := feature(render.Sanitize(line))
		lead := ""
		if k != "" {
			lead = label(c, k)
		}
		out = append(out, hang(lead, v, c.Styles.Text, w)...)
	}
	return append(out, watchdogLines(c, info, w)...)
}

// feature splits "kill: cgroup.kill (…)" at its first colon when the name
// fits the label column; another line is kept whole.
func feature(line string) (name, how string) {
	name, how, ok := strings.Cut(line, ": ")
	if !ok || name == "" || render.Width(name) >= keyWidth {
		return "", line
	}
	return name, how
}

// watchdogLines say whether a watchdog will kill the plugins if the
// supervisor dies. Any restart means it died while the supervisor ran:
// plugins were unguarded for a moment, and it is worth finding out why.
func watchdogLines(c *pvctx.Context, info supervisor.Info, w int) []string {
	st := c.Styles
	if info.WatchdogPID <= 0 {
		return hang(label(c, "watchdog"), supervisor.NoWatchdog, st.Warn, w)
	}
	restarts := st.Text.Render("restarts 0")
	if info.WatchdogRestarts > 0 {
		restarts = st.Warn.Render("restarts "+strconv.Itoa(info.WatchdogRestarts)) + st.Faint.Render(" ("+supervisor.WatchdogRestarted+")")
	}
	return []string{label(c, "watchdog") + st.Text.Render("pid "+strconv.Itoa(info.WatchdogPID)+" · ") + restarts}
}

// kv is a label and an engine's value on one line, cut at the pane's edge.
func kv(c *pvctx.Context, k, val string) string {
	return label(c, k) + c.Styles.Text.Render(render.Sanitize(val))
}

func label(c *pvctx.Context, k string) string { return c.Styles.Faint.Render(render.Fit(k, keyWidth)) }

// hang is text worth reading whole (a reason, a path) wrapped to w cells
// after lead, the lines after the first indented as far.
func hang(lead, text string, style lipgloss.Style, w int) []string {
	lw := render.Width(lead)
	parts := render.WrapWords(render.Sanitize(text), max(w-lw, 1))
	out := make([]string, len(parts))
	for i, part := range parts {
		if i > 0 {
			lead = strings.Repeat(" ", lw)
		}
		out[i] = lead + style.Render(part)
	}
	return out
}

// kept says how much of a buffer this console holds, against its byte
// budget, and how many older items it let go: the engine and the plugin's
// log files may have more.
func kept(n int, bytes, budget int64, evicted uint64, what string) string {
	s := strconv.Itoa(n) + " " + what + " (" + render.Bytes(bytes) + " of " + render.Bytes(budget) + ")"
	if evicted > 0 {
		s += ", " + render.Uint(evicted) + " older evicted"
	}
	return s
}

// stateLabel is a state as the pane title shows it.
func stateLabel(s supervisor.PluginStatus) string {
	return pvctx.Symbol(s.State) + " " + string(s.State)
}

func itoaInt(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}
