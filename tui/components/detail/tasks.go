package detail

import (
	"strconv"
	"strings"

	"github.com/plugvisor/plugvisor/internal/ring"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// taskView lists a plugin's round trips, newest first; enter shows the
// whole reply.
type taskView struct {
	list
	filter   string // matched against content and status
	expanded bool
	scroll   int
}

func (v *taskView) match(ts *ring.Ring[*state.Task]) func(int) bool {
	if v.filter == "" {
		return func(int) bool { return true }
	}
	return func(i int) bool {
		t := ts.At(i)
		return render.IndexFold(t.Content, v.filter) >= 0 || render.IndexFold(outcomeText(t.Outcome), v.filter) >= 0
	}
}

// taskState maps a round trip's outcome to the state look it borrows.
func taskState(o supervisor.Outcome) supervisor.State {
	switch o {
	case supervisor.OutcomePending:
		return supervisor.StateStarting
	case supervisor.OutcomeAnswered:
		return supervisor.StateRunning
	case supervisor.OutcomeTimedOut:
		return supervisor.StateBackoff
	case supervisor.OutcomeCancelled:
		return supervisor.StateStopped
	}
	return supervisor.StateFailed
}

// outcomeText is an outcome as the Tasks table words it.
func outcomeText(o supervisor.Outcome) string {
	switch o {
	case supervisor.OutcomeError:
		return "failed"
	case supervisor.OutcomeTimedOut:
		return "timed out"
	case supervisor.OutcomeGone:
		return "plugin gone"
	case supervisor.OutcomeNotSent:
		return "not sent"
	}
	return string(o)
}

// lines draws the round trips of one plugin, on host over many hosts (its
// instances are then named as that host names them).
func (v *taskView) lines(c *pvctx.Context, ts *ring.Ring[*state.Task], host string, w, h int) []string {
	st := c.Styles
	match := v.match(ts)
	if v.expanded {
		if i := v.selected(ts, match); i >= 0 {
			t := ts.At(i)
			return expand(c, taskLines(t), "task "+strconv.FormatUint(uint64(t.ID), 10)+" "+t.Token, &v.scroll, w, h)
		}
		v.expanded = false
	}
	cols := taskColumns(w)
	head := render.Fit("WHEN", cols.when) + " " + render.Fit("INSTANCE", instanceW) + " " + render.FitRight("ID", idW) + " " +
		render.Fit("TOKEN", tokenW) + " " + render.Fit("CONTENT", cols.content) + " " + render.Fit("REPLY", cols.reply) + " " +
		render.Fit("STATUS", statusW) + " " + render.FitRight("RTT", rttW)
	out := []string{st.Faint.Bold(true).Render(render.Cut(head, w))}
	idx, sel := v.window(ts, match, h-2)
	for _, i := range idx {
		t := ts.At(i)
		stStyle := st.State(taskState(t.Outcome))
		rtt := rttCell(t, c.Now())
		cw, rw := cols.content, cols.reply
		left := render.Fit(t.Sent.Format(cols.format), cols.when) + " " + render.Fit(render.OrDash(render.Sanitize(render.Local(host, t.Instance))), instanceW) + " " +
			render.FitRight(strconv.FormatUint(uint64(t.ID), 10), idW) + " " + render.Fit(tokenTail(t.Token, tokenW), tokenW) + " " +
			render.Fit(render.Sanitize(render.Head(t.Content, cw*4)), cw) + " " + render.Fit(replyPreview(t, rw), rw) + " "
		status := render.Fit(pvctx.Symbol(taskState(t.Outcome))+" "+outcomeText(t.Outcome), statusW)
		right := " " + render.FitRight(rtt, rttW)
		if i == sel {
			out = append(out, st.Selected.Render(render.Fit(left+status+right, w)))
			continue
		}
		out = append(out, render.Cut(st.Text.Render(left)+stStyle.Render(status)+st.Text.Render(right), w))
	}
	switch {
	case ts.Len() == 0:
		out = append(out, st.Faint.Render("no tasks yet: press t to send one"))
	case len(idx) == 0:
		out = append(out, st.Faint.Render("no task matches the filter"))
	}
	for len(out) < h-1 {
		out = append(out, "")
	}
	status := []string{st.Faint.Render(itoa(ts.Len()) + "/" + itoa(ts.Limit()) + " round trips")}
	if v.filter != "" {
		status = append(status, st.Accent.Render("filter ")+st.Highlight.Render(v.filter))
	}
	status = append(status, st.Faint.Render("enter: full reply"))
	return append(out, render.Cut(strings.Join(status, st.Faint.Render(" · ")), w))
}

// Widths of the Tasks table's fixed columns.
const (
	instanceW = 10
	idW       = 6
	tokenW    = 9
	statusW   = 11
	rttW      = 8
	// wideWhen is the width from which the WHEN column has milliseconds.
	wideWhen = 96
)

// taskCols are the widths that depend on the pane's: the fixed columns
// always fit whole (RTT included) and the content and reply share the rest.
type taskCols struct {
	when, content, reply int
	format               string
}

func taskColumns(w int) taskCols {
	c := taskCols{when: 12, format: timeFormat}
	if w < wideWhen {
		c.when, c.format = 8, "15:04:05"
	}
	fixed := c.when + instanceW + idW + tokenW + statusW + rttW + 7 // the spaces between the eight columns
	free := max(w-fixed, 3)
	c.content = max(free*2/5, 1)
	c.reply = max(free-c.content, 1)
	return c
}

// tokenTail is the end of a token: this console's tokens share a prefix
// (label, random part) and differ in the counter at their end, and an
// engine's random tokens differ anywhere, so the tail tells rows apart.
func tokenTail(tok string, w int) string {
	if tok == "" {
		return "-"
	}
	if len(tok) <= w {
		return tok
	}
	return "…" + tok[len(tok)-(w-1):]
}

// replyPreview is the final reply's fields on one line, or the error, of
// which w cells are shown.
func replyPreview(t *state.Task, w int) string {
	if t.Detail != "" {
		return render.Sanitize(render.Head(t.Detail, w*4))
	}
	n := len(t.Reply.Records)
	if n == 0 {
		return "-"
	}
	r := t.Reply.Records[n-1]
	var parts []string
	for _, k := range sortedKeys(r.Fields) {
		if k == protocol.FieldDataType || k == protocol.FieldTaskStatus {
			continue
		}
		parts = append(parts, fieldName(k)+"="+render.Sanitize(render.Head(r.Fields[k], w*4)))
	}
	return strings.Join(parts, " ")
}

// taskLines is a round trip in full: what was sent and every reply record.
func taskLines(t *state.Task) []string {
	out := []string{
		"status    " + outcomeText(t.Outcome),
		"sent      " + t.Sent.Format("2006-01-02 15:04:05.000000"),
		"instance  " + render.OrDash(t.Instance),
		"id        " + strconv.FormatUint(uint64(t.ID), 10),
		"token     " + render.OrDash(t.Token),
		"content   " + render.Sanitize(t.Content),
	}
	if t.RTT > 0 {
		out = append(out, "rtt       "+render.Duration(t.RTT))
	}
	if t.Detail != "" {
		out = append(out, "error     "+render.Sanitize(t.Detail))
	}
	if t.Cut > 0 || t.Reply.Dropped > 0 {
		out = append(out, "records   "+strconv.Itoa(len(t.Reply.Records))+" kept of "+strconv.Itoa(t.Records()+t.Reply.Dropped)+
			": older progress records not kept, "+strconv.Itoa(t.Reply.Dropped)+" by the engine, "+strconv.Itoa(t.Cut)+" by this console")
	}
	for i, r := range t.Reply.Records {
		out = append(out, "", "reply record "+strconv.Itoa(i+1)+" of "+strconv.Itoa(len(t.Reply.Records)))
		out = append(out, recordLines(state.Record{Received: t.Sent.Add(t.RTT), Record: r})...)
	}
	return out
}
