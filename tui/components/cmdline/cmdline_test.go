package cmdline

import (
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	c, err := Parse("send echo 12  hello   world ")
	if err != nil || c.Verb != "send" || c.Name != "echo" || c.ID != 12 || c.Content != "hello   world " {
		t.Fatalf("%+v %v", c, err)
	}
	if c, err := Parse("stop ticker"); err != nil || c.Verb != "stop" || c.Name != "ticker" {
		t.Fatalf("%+v %v", c, err)
	}
	if c, err := Parse("q"); err != nil || c.Verb != "quit" {
		t.Fatalf("%+v %v", c, err)
	}
	if c, err := Parse("filter env=prod, role=edge"); err != nil || c.Verb != "filter" || c.Content != "env=prod, role=edge" {
		t.Fatalf("%+v %v", c, err)
	}
	if c, err := Parse("filter"); err != nil || c.Verb != "filter" || c.Content != "" {
		t.Fatalf("a bare filter (clears it): %+v %v", c, err)
	}
	for _, bad := range []string{"", "send echo", "send echo x hi", "stop", "stop a b", "reload now", "frobnicate"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestComplete(t *testing.T) {
	plugins, themes := []string{"echo", "echo.0", "ticker"}, []string{"dark", "light"}
	cases := []struct {
		in, want string
		cands    []string
	}{
		{"se", "send ", nil},
		{"st", "st", []string{"start", "stop"}},
		{"send ti", "send ticker ", nil},
		{"send e", "send echo", []string{"echo", "echo.0"}},
		{"theme l", "theme light ", nil},
		{"reload ", "reload ", nil},
		{"send echo 1 h", "send echo 1 h", nil},
	}
	for _, c := range cases {
		got, cands := Complete(c.in, plugins, themes)
		if got != c.want || !slices.Equal(cands, c.cands) {
			t.Errorf("Complete(%q) = %q %v, want %q %v", c.in, got, cands, c.want, c.cands)
		}
	}
}
