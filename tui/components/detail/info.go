package detail

import (
	"strconv"
	"strings"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// infoView is what the engine knows of an instance: how it runs and how it
// ended before.
type infoView struct{ scroll int }

func (v *infoView) lines(c *pvctx.Context, p *state.Plugin, w, h int) []string {
	st := c.Styles
	s := p.Status
	kv := func(k, val string) string {
		return st.Faint.Render(render.Fit(k, 12)) + st.Text.Render(render.Sanitize(val))
	}
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Format("2006-01-02 15:04:05")
	}
	version := orDash(s.Version)
	if s.PluginVersion != "" {
		version += " (plugin says " + s.PluginVersion + ")"
	}
	body := []string{
		kv("state", string(s.State)+" since "+stamp(s.Since)+": "+s.Reason),
		kv("exec", s.Exec),
		kv("args", strings.Join(s.Args, " ")),
		kv("sha256", s.SHA256),
		kv("version", version),
		kv("protocol", strconv.Itoa(int(s.Protocol))),
		kv("pid / pgid", orDash(itoaInt(s.PID))+" / "+orDash(itoaInt(s.PGID))),
		kv("started", stamp(s.Started)),
		kv("restarts", strconv.Itoa(s.Restarts)),
		kv("work dir", s.WorkDir),
		kv("stdout log", s.StdoutLog),
		kv("stderr log", s.StderrLog),
		kv("tasks", "sent "+u(s.TasksSent)+" · answered "+u(s.TasksAnswered)+" · failed "+u(s.TasksFailed)+
			" · timed out "+u(s.TasksTimedOut)+" · rtt p50 "+render.Duration(s.RTTp50)+" p99 "+render.Duration(s.RTTp99)),
		kv("traffic", "records in "+u(s.RecordsIn)+" · frames in/out "+u(s.FramesIn)+"/"+u(s.FramesOut)+
			" · bytes in/out "+render.Bytes(int64(s.BytesIn))+"/"+render.Bytes(int64(s.BytesOut))),
		kv("kept here", kept(p.Records.Len(), p.Records.Bytes(), p.Records.Budget(), p.Records.Evicted(), "records")+
			" · "+kept(p.Logs.Len(), p.Logs.Bytes(), p.Logs.Budget(), p.Logs.Evicted(), "lines")),
		"",
		st.Title.Render("exit history") + st.Faint.Render(" (newest first)"),
	}
	if len(s.Exits) == 0 {
		body = append(body, st.Faint.Render("no exits"))
	}
	for i := len(s.Exits) - 1; i >= 0; i-- {
		e := s.Exits[i]
		body = append(body, st.Text.Render(e.Time.Format("2006-01-02 15:04:05")+"  "+render.Fit(e.String(), 12)+" "+render.Sanitize(e.Reason)))
	}
	rows := h - 1
	v.scroll = min(max(v.scroll, 0), max(len(body)-rows, 0))
	out := body[v.scroll:min(v.scroll+rows, len(body))]
	out = append([]string(nil), out...)
	for len(out) < rows {
		out = append(out, "")
	}
	return append(out, st.Faint.Render(strconv.Itoa(len(body))+" lines · j/k: scroll"))
}

// kept says how much of a buffer this console holds, against its byte
// budget, and how many older items it let go: the engine and the plugin's
// log files may have more.
func kept(n int, bytes, budget int64, evicted uint64, what string) string {
	s := strconv.Itoa(n) + " " + what + " (" + render.Bytes(bytes) + " of " + render.Bytes(budget) + ")"
	if evicted > 0 {
		s += ", " + u(evicted) + " older evicted"
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

func u(n uint64) string { return strconv.FormatUint(n, 10) }
