package detail

import (
	"slices"
	"strings"
	"time"

	"github.com/plugvisor/plugvisor/internal/ring"
	"github.com/plugvisor/plugvisor/protocol"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// dataView lists an instance's latest records, newest first, filtered by
// data_type; enter expands the selected one.
type dataView struct {
	list
	filter   string
	expanded bool
	scroll   int    // first line of the expanded record shown
	table    string // "": the list; else the data_type shown as a table (v)
}

func (v *dataView) match(recs *ring.Ring[state.Record]) func(int) bool {
	if v.table != "" {
		return v.tableMatch(recs)
	}
	if v.filter == "" {
		return func(int) bool { return true }
	}
	return func(i int) bool { return render.IndexFold(recs.At(i).DataType(), v.filter) >= 0 }
}

func (v *dataView) lines(c *pvctx.Context, p *state.Plugin, w, h int) []string {
	st := c.Styles
	recs := p.Records
	match := v.match(recs)
	if v.expanded {
		if i := v.selected(recs, match); i >= 0 {
			r := recs.At(i)
			return expand(c, recordLines(r), "record "+itoa(int(seqOf(recs, i))), &v.scroll, w, h)
		}
		v.expanded = false
	}
	if v.table != "" {
		return v.tableLines(c, recs, match, w, h)
	}
	rows := h - 2
	idx, sel := v.window(recs, match, rows)
	out := []string{st.Faint.Bold(true).Render(render.Fit("TIME", 12) + " " + render.Fit("DATA_TYPE", 12) + " FIELDS")}
	for _, i := range idx {
		line := recordRow(recs.At(i), w)
		if i == sel {
			out = append(out, st.Selected.Render(render.Fit(line, w)))
			continue
		}
		out = append(out, st.Text.Render(line))
	}
	switch {
	case recs.Len() == 0:
		out = append(out, st.Faint.Render("no records yet"))
	case len(idx) == 0:
		out = append(out, st.Faint.Render("no record has a data_type matching the filter"))
	}
	for len(out) < h-1 {
		out = append(out, "")
	}
	status := []string{st.Faint.Render(itoa(recs.Len()) + "/" + itoa(recs.Limit()) + " records")}
	if n := recs.Evicted(); n > 0 {
		status = append(status, st.Warn.Render(render.Count(n)+" older evicted")+
			st.Faint.Render(", "+render.Bytes(recs.Bytes())+" kept of "+render.Bytes(recs.Budget())))
	}
	if v.filter != "" {
		status = append(status, st.Accent.Render("data_type ")+st.Highlight.Render(v.filter)+st.Faint.Render(" "+render.Plural(count(recs, match), "match", "matches")))
	}
	if v.sel == 0 {
		status = append(status, st.Accent.Render("newest"))
	}
	return append(out, render.Cut(strings.Join(status, st.Faint.Render(" · ")), w))
}

func recordTime(r state.Record) time.Time {
	if r.Timestamp > 0 {
		return time.Unix(0, r.Timestamp)
	}
	return r.Received
}

// recordRow is one record on one line: time, data_type, the other fields.
func recordRow(r state.Record, w int) string {
	var b strings.Builder
	b.WriteString(recordTime(r).Format(timeFormat))
	b.WriteByte(' ')
	b.WriteString(render.Fit(render.Sanitize(render.Head(r.DataType(), 64)), 12))
	for _, k := range sortedKeys(r.Fields) {
		if k == protocol.FieldDataType {
			continue
		}
		if b.Len() > w*4 { // far past the edge: the rest is cut anyway
			break
		}
		b.WriteString(" " + fieldName(k) + "=" + render.Sanitize(render.Head(r.Fields[k], w*4)))
	}
	return render.Cut(b.String(), w)
}

// recordLines is a record in full, one field per line.
func recordLines(r state.Record) []string {
	out := []string{
		"time      " + recordTime(r).Format("2006-01-02 15:04:05.000000"),
		"received  " + r.Received.Format("2006-01-02 15:04:05.000000"),
	}
	if r.Token != "" {
		out = append(out, "token     "+render.Sanitize(render.Head(r.Token, maxFieldName*4)))
	}
	out = append(out, "")
	keys := sortedKeys(r.Fields)
	names := make([]string, len(keys))
	wk := 0
	for i, k := range keys {
		names[i] = fieldName(k)
		wk = max(wk, render.Width(names[i]))
	}
	for i, k := range keys {
		out = append(out, render.Fit(names[i], wk)+"  "+expandedValue(r.Fields[k]))
	}
	return out
}

// maxExpanded is how much of one value the expanded view wraps and draws:
// it is drawn again with every fold, and 64 KiB is pages already.
const maxExpanded = 64 << 10

func expandedValue(v string) string {
	head := render.Head(v, maxExpanded)
	if len(head) == len(v) {
		return render.Sanitize(v)
	}
	return render.Sanitize(head) + " … (" + render.Bytes(int64(len(v)-len(head))) + " more not shown)"
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// expand draws a scrollable full view of one item, wrapped to w.
func expand(c *pvctx.Context, body []string, title string, scroll *int, w, h int) []string {
	st := c.Styles
	var wrapped []string
	for _, l := range body {
		if l == "" {
			wrapped = append(wrapped, "")
			continue
		}
		wrapped = append(wrapped, render.Wrap(l, w)...)
	}
	rows := h - 2
	*scroll = min(max(*scroll, 0), max(len(wrapped)-rows, 0))
	out := []string{st.Title.Render(title) + st.Faint.Render("  esc/enter: back · j/k: scroll")}
	end := min(*scroll+rows, len(wrapped))
	for _, l := range wrapped[*scroll:end] {
		out = append(out, st.Text.Render(l))
	}
	for len(out) < h-1 {
		out = append(out, "")
	}
	more := ""
	if end < len(wrapped) {
		more = " · more below"
	}
	return append(out, st.Faint.Render(itoa(len(wrapped))+" lines"+more))
}
