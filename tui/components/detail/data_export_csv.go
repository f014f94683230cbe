package detail

import (
	"strings"

	"github.com/plugvisor/plugvisor/internal/termtext"
)

// csvCell is a plugin's text as a CSV cell a spreadsheet shows and never
// runs: a cell starting with = + - @, tab or CR would be read as a formula
// (CSV injection), so it is prefixed with ', and control characters but
// tab and newline are written as Go escapes (\x1b, \r), as ctl shows them.
func csvCell(s string) string {
	formula := s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0]))
	s = termtext.Escape(s, true)
	if formula {
		return "'" + s
	}
	return s
}

// csvHeader is the header row for cols (time first, then data_type and
// the field names): names as cells, and a field that would take the name
// of the time column renamed with a trailing _ until it is unique.
func csvHeader(cols []string) []string {
	head := make([]string, len(cols))
	used := map[string]bool{}
	for i, k := range cols {
		h := csvCell(k)
		for i > 0 && used[h] {
			h += "_"
		}
		used[h] = true
		head[i] = h
	}
	return head
}
