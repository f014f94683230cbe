// Package themes defines the console's colour themes: named colour slots, the built-in themes and user themes loaded from TOML.
package themes

import (
	"image/color"
	"strings"

	"charm.land/lipgloss/v2"
)

// Color is one colour slot's value: "#rrggbb", "#rgb", an ANSI index "0"–"255",
// or "" for the terminal's own colour.
type Color string

// Value is the colour lipgloss renders: lipgloss.NoColor for "".
func (c Color) Value() color.Color {
	if c == "" {
		return lipgloss.NoColor{}
	}
	return lipgloss.Color(string(c))
}

// IsSet reports whether the slot names a colour at all.
func (c Color) IsSet() bool { return c != "" }

// valid reports whether s is a colour a theme may hold: none, "#rrggbb",
// "#rgb", or an ANSI number below 256. It is checked byte by byte rather
// than by a regular expression, whose compilation at package init every
// start of the plugvisor binary would pay.
func valid(s string) bool {
	if !colorShape(s) {
		return false
	}
	if s != "" && s[0] != '#' {
		n := 0
		for _, r := range s {
			n = n*10 + int(r-'0')
		}
		return n < 256
	}
	return true
}

// colorShape says whether s is empty, '#' and 6 or 3 hex digits, or 1 to
// 3 decimal digits.
func colorShape(s string) bool {
	if hex, ok := strings.CutPrefix(s, "#"); ok {
		if len(hex) != 6 && len(hex) != 3 {
			return false
		}
		for i := range len(hex) {
			if !strings.ContainsRune("0123456789abcdefABCDEF", rune(hex[i])) {
				return false
			}
		}
		return true
	}
	if len(s) > 3 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Theme is a set of named colour slots. States are never shown by colour
// alone (each has a symbol and a word), so a theme may leave any slot empty.
type Theme struct {
	Name string
	Dark bool // drawn for a dark background

	Text          Color // ordinary text
	Faint         Color // secondary text: column headers, timestamps, help descriptions
	Accent        Color // titles, focused borders, keys in the help
	Border        Color // unfocused borders
	Selection     Color // background of the selected row or tab; "" means reverse video
	SelectionText Color // text on Selection
	Highlight     Color // background of filter matches; "" means underline

	Running  Color
	Starting Color // also stopping
	Backoff  Color // also exited
	Failed   Color // also errors in the flash line
	Stopped  Color
}

// slots lists every colour slot by its TOML key, so loading, validation and
// documentation share one table.
func (t *Theme) slots() []slot {
	return []slot{
		{"text", &t.Text}, {"faint", &t.Faint}, {"accent", &t.Accent}, {"border", &t.Border},
		{"selection", &t.Selection}, {"selection_text", &t.SelectionText}, {"highlight", &t.Highlight},
		{"running", &t.Running}, {"starting", &t.Starting}, {"backoff", &t.Backoff},
		{"failed", &t.Failed}, {"stopped", &t.Stopped},
	}
}

type slot struct {
	key string
	c   *Color
}

// SlotNames lists the colour keys a theme file may set, in display order.
func SlotNames() []string {
	var t Theme
	s := t.slots()
	out := make([]string, len(s))
	for i, sl := range s {
		out[i] = sl.key
	}
	return out
}
