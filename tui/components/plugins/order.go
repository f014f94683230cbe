package plugins

import (
	"slices"
	"strings"
	"time"

	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// MaxFilter bounds the filter typed, in runes.
const MaxFilter = 128

// sortBy is the column the table is ordered by and its direction.
type sortBy struct {
	col  int // index in columns()
	desc bool
	set  bool // chosen (o, O, :sort); until then Model.by's default
}

// view is the rows the table shows: the store's instances that pass the
// filter, in the sort's order. It is worked out again only when the store's
// rows, the filter or the sort change, never for a frame alone.
type view struct {
	ids   []string
	rev   uint64 // the store's RowsRev ids were computed for
	stale bool   // the filter or sort changed since
	valid bool
}

// refresh recomputes the visible rows if they are out of date and reports
// whether it did.
func (m *Model) refresh(s *state.Store, now time.Time) bool {
	if m.rows.valid && !m.rows.stale && m.rows.rev == s.RowsRev() {
		return false
	}
	m.hosts = hostWidth(s) > 0 // before the order: the default sort depends on it
	m.rows = view{ids: m.order(s, now), rev: s.RowsRev(), valid: true}
	m.dropGoneMarks(s)
	m.rev++
	return true
}

func (m *Model) order(s *state.Store, now time.Time) []string {
	q, invert, fuzzy := parseFilter(m.filter)
	sel, bySelector := parseSelector(q)
	bySelector = bySelector && !fuzzy
	want := render.FuzzyQuery(q)
	ids := make([]string, 0, s.Len())
	for _, id := range s.Order() {
		p := s.Plugin(id)
		switch {
		case bySelector:
			if selects(sel, p.Status) != invert {
				ids = append(ids, id)
			}
		case len(want) == 0 || matches(p, want) != invert:
			ids = append(ids, id)
		}
	}
	by := m.by()
	cmpCol := columns(0)[by.col].compare
	slices.SortStableFunc(ids, func(a, b string) int {
		pa, pb := s.Plugin(a), s.Plugin(b)
		c := cmpCol(pa, pb, now)
		if by.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
		return state.Natural(a, b)
	})
	return ids
}

// parseFilter splits a leading '!' (show what does not match) from the
// query. The logs search's filter forms, =TEXT (only what matches) and
// -f TEXT (fuzzy), are what the table's filter does anyway: they are read
// as TEXT, so the same text filters the same way in both panes, and the
// table's fuzzy query is returned in fuzzy.
func parseFilter(f string) (q string, invert, fuzzy bool) {
	f = strings.TrimSpace(f)
	if rest, ok := strings.CutPrefix(f, "!"); ok {
		f, invert = strings.TrimSpace(rest), true
	}
	if rest, ok := strings.CutPrefix(f, "="); ok {
		return strings.TrimSpace(rest), invert, true
	}
	if rest, ok := strings.CutPrefix(f, "-f "); ok {
		return strings.TrimSpace(rest), invert, true
	}
	return f, invert, false
}

// matches: the instance id (qualified by its host over many hosts), state
// or version holds q's letters in order (render's fuzzy match, k9s's
// filter), ignoring case.
func matches(p *state.Plugin, q []rune) bool {
	st := p.Status
	return render.FuzzyHit(st.Instance, q) || render.FuzzyHit(string(st.State), q) ||
		render.FuzzyHit(st.Version, q) || render.FuzzyHit(st.PluginVersion, q)
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
