package detail

import (
	"maps"
	"slices"
	"strings"

	"github.com/plugvisor/plugvisor/internal/ring"
	"github.com/plugvisor/plugvisor/protocol"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// The records table (v in the Data tab) shows the records of one data_type
// with a column per field. Its filter applies to any field: "field=value"
// matches records whose field holds value, plain text any field holding it
// (names and values ignoring ASCII case).

// Column widths of the records table.
const (
	maxColumn = 32 // a column is never wider, so one long value does not take the table
	minColumn = 4  // when the fields do not fit, each keeps at least this much
	colScan   = 64 // bytes of a value measured for its column's width
)

// ToggleTable switches the Data tab between the list and the table of the
// selected record's data_type, and returns that type ("" back to the list,
// or when there is no record to take the type from).
func (m *Model) ToggleTable(s *state.Store) string {
	m.rev++
	p := s.Plugin(m.shown)
	if p == nil || m.Tab != TabData {
		return ""
	}
	v := &m.data
	if v.table != "" {
		v.table, v.list, v.expanded = "", list{}, false
		return ""
	}
	i := v.selected(p.Records, v.match(p.Records))
	if i < 0 {
		return ""
	}
	sel := seqOf(p.Records, i)
	v.table, v.expanded = p.Records.At(i).DataType(), false
	v.list = list{sel: sel} // the same record stays selected
	if v.selected(p.Records, v.match(p.Records)) != i {
		v.list = list{}
	}
	return v.table
}

// Table is the data_type the Data tab shows as a table, or "".
func (m *Model) Table() string { return m.data.table }

func (v *dataView) tableMatch(recs *ring.Ring[state.Record]) func(int) bool {
	field, want, byField := strings.Cut(v.filter, "=")
	field = strings.TrimSpace(field)
	return func(i int) bool {
		r := recs.At(i)
		if r.DataType() != v.table {
			return false
		}
		switch {
		case v.filter == "":
			return true
		case byField:
			val, ok := fieldFold(r.Fields, field)
			return ok && render.IndexFold(val, want) >= 0
		}
		for _, val := range r.Fields {
			if render.IndexFold(val, v.filter) >= 0 {
				return true
			}
		}
		return false
	}
}

// fieldFold is the value of field, its name matched ignoring case as the
// table's headers show it (SEQ for seq).
func fieldFold(fields map[string]string, field string) (string, bool) {
	if v, ok := fields[field]; ok {
		return v, true
	}
	for k, v := range fields {
		if strings.EqualFold(k, field) {
			return v, true
		}
	}
	return "", false
}

// tableColumns are the field names of the rows shown (data_type is the
// table's, so not a column), each sized to its widest value and name, both
// capped, shrunk when they do not all fit in w. A plugin chooses how many
// names there are (up to MaxFieldsPerRecord per record, different in every
// row), so only the first columns that fit at minColumn are kept, and they
// are shrunk in one pass: the cost of a frame follows w, not the names.
func tableColumns(recs *ring.Ring[state.Record], idx []int, w int) (names []string, widths []int) {
	seen := map[string]struct{}{}
	for _, i := range idx {
		for k := range recs.At(i).Fields {
			if k != protocol.FieldDataType {
				seen[k] = struct{}{}
			}
		}
	}
	names = slices.Sorted(maps.Keys(seen))
	if keep := max(w/(minColumn+1), 1); len(names) > keep {
		names = names[:keep]
	}
	// Measured only for the columns kept: a value costs a Sanitize.
	widths = make([]int, len(names))
	for j, k := range names {
		widths[j] = min(render.Width(render.Sanitize(render.Head(k, colScan))), maxColumn)
		for _, i := range idx {
			if val, ok := recs.At(i).Fields[k]; ok {
				widths[j] = min(max(widths[j], render.Width(render.Sanitize(render.Head(val, colScan)))), maxColumn)
			}
		}
	}
	shrink(widths, w-len(widths))
	return names, widths
}

// shrink narrows widths, widest first, until they add up to at most
// budget, none below minColumn: it finds the highest cap that fits and
// gives the cells left over, one each, to the first columns above it.
func shrink(widths []int, budget int) {
	capped := func(c int) int {
		n := 0
		for _, wd := range widths {
			n += min(wd, c)
		}
		return n
	}
	if capped(maxColumn) <= budget {
		return
	}
	lo, hi := minColumn, maxColumn // capped(lo) may not fit either: the frame cuts the rest
	for lo < hi {
		if c := (lo + hi + 1) / 2; capped(c) <= budget {
			lo = c
		} else {
			hi = c - 1
		}
	}
	spare := budget - capped(lo)
	for i, wd := range widths {
		widths[i] = min(wd, lo)
		if wd > lo && spare > 0 {
			widths[i]++
			spare--
		}
	}
}

func (v *dataView) tableLines(c *pvctx.Context, recs *ring.Ring[state.Record], match func(int) bool, w, h int) []string {
	st := c.Styles
	idx, sel := v.window(recs, match, h-2)
	const timeW = 12
	names, widths := tableColumns(recs, idx, w-timeW-1)
	var head strings.Builder
	head.WriteString(render.Fit("TIME", timeW))
	for i, k := range names {
		head.WriteString(" " + render.Fit(strings.ToUpper(render.Sanitize(render.Head(k, widths[i]*4))), widths[i]))
	}
	out := []string{st.Faint.Bold(true).Render(render.Cut(head.String(), w))}
	for _, i := range idx {
		r := recs.At(i)
		var b strings.Builder
		b.WriteString(recordTime(r).Format(timeFormat))
		for j, k := range names {
			b.WriteString(" " + render.Fit(render.Sanitize(render.Head(r.Fields[k], widths[j]*4)), widths[j]))
		}
		line := render.Cut(b.String(), w)
		if i == sel {
			out = append(out, st.Selected.Render(render.Fit(line, w)))
			continue
		}
		out = append(out, st.Text.Render(line))
	}
	if len(idx) == 0 {
		out = append(out, st.Faint.Render("no "+render.Sanitize(v.table)+" record matches the filter"))
	}
	for len(out) < h-1 {
		out = append(out, "")
	}
	status := []string{st.Accent.Render("table ") + st.Highlight.Render(render.Sanitize(v.table)) +
		st.Faint.Render(" · "+render.Plural(count(recs, match), "match", "matches")+" of "+itoa(recs.Len())+" records")}
	if v.filter != "" {
		status = append(status, st.Accent.Render("filter ")+st.Highlight.Render(v.filter))
	}
	status = append(status, st.Faint.Render("v: list · :export json|csv PATH"))
	return append(out, render.Cut(strings.Join(status, st.Faint.Render(" · ")), w))
}
