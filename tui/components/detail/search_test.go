package detail

import (
	"testing"

	"charm.land/lipgloss/v2"
)

func TestParseSearch(t *testing.T) {
	for _, c := range []struct {
		raw     string
		mode    searchMode
		expr    string
		invalid bool
		hits    []string
		misses  []string
	}{
		{raw: "", mode: modeNone},
		{raw: "=", mode: modeNone},
		{raw: "LINE [0-9]+$", mode: modeFind, expr: "LINE [0-9]+$", hits: []string{"a line 12"}, misses: []string{"line 1 b"}},
		{raw: "=err", mode: modeFilter, expr: "err", hits: []string{"ERR x"}},
		{raw: "!debug", mode: modeInverse, expr: "debug", hits: []string{"Debug on"}},
		{raw: "-f lnx", mode: modeFuzzy, expr: "lnx", hits: []string{"LiNe x"}, misses: []string{"x line"}},
		{raw: "line (", mode: modeFind, expr: "line (", invalid: true, hits: []string{"a LINE (b"}, misses: []string{"line b"}},
	} {
		s := parseSearch(c.raw)
		if s.mode != c.mode || s.expr != c.expr || (s.invalid != "") != c.invalid {
			t.Errorf("parseSearch(%q) = mode %d expr %q invalid %q", c.raw, s.mode, s.expr, s.invalid)
		}
		for _, h := range c.hits {
			if !s.hit(h) {
				t.Errorf("%q does not match %q", c.raw, h)
			}
		}
		for _, m := range c.misses {
			if s.hit(m) {
				t.Errorf("%q matches %q", c.raw, m)
			}
		}
	}
}

func TestSearchShowsAndHighlights(t *testing.T) {
	find, filter, inverse := parseSearch("x"), parseSearch("=x"), parseSearch("!x")
	if !find.shows(false) || !filter.shows(true) || filter.shows(false) || inverse.shows(true) || !inverse.shows(false) {
		t.Error("wrong lines shown")
	}
	if inverse.spans("x") != nil {
		t.Error("an inverse filter highlights")
	}
	hl := lipgloss.NewStyle().Bold(true)
	base := lipgloss.NewStyle()
	s := parseSearch("o+")
	if got, want := highlight("foo boo", s.spans("foo boo"), base, hl), "f"+hl.Render("oo")+" b"+hl.Render("oo"); got != want {
		t.Errorf("highlight = %q, want %q", got, want)
	}
}
