package hostsel

import (
	"slices"
	"strings"
	"testing"
)

func TestSelectorPicks(t *testing.T) {
	prod := map[string]string{"env": "prod", "role": "edge"}
	dev := map[string]string{"env": "dev", "role": "edge"}
	for _, c := range []struct {
		sel    string
		host   string
		labels map[string]string
		want   bool
	}{
		{"*", "edge-1", nil, true},
		{"", "edge-1", nil, true},
		{"host=edge-1", "edge-1", nil, true},
		{"host=edge-1", "edge-10", nil, false},
		{"host=edge-1|edge-2", "edge-2", nil, true},
		{"host=edge-*", "edge-10", nil, true},
		{"host=edge-?", "edge-10", nil, false},
		{"env=prod,role=edge", "a", prod, true},
		{"env=prod,role=edge", "a", dev, false},
		{"env=prod", "a", nil, false},
		{"env=prod|dev, host=a", "a", dev, true},
		{"host=é", "é", nil, true}, // parses, though no host can be called so
		{"env=prød", "a", map[string]string{"env": "prød"}, true},
		{"host=a,host=b", "a", nil, false}, // every term must hold
		{"env!=prod", "a", prod, false},
		{"env!=prod", "a", dev, true},
		{"env!=prod", "a", nil, true}, // a host without the label included
		{"host!=edge-*", "core-1", nil, true},
	} {
		sel, err := Parse(c.sel)
		if err != nil {
			t.Fatalf("%q: %v", c.sel, err)
		}
		if got := sel.Match(c.host, c.labels); got != c.want {
			t.Errorf("%q on %s %v: %v, want %v", c.sel, c.host, c.labels, got, c.want)
		}
	}
}

func TestSelectorErrorsNameTheTerm(t *testing.T) {
	for sel, want := range map[string]string{
		"edge-1":                   `selector "edge-1": term 1 "edge-1": no '='`,
		"env=prod,":                `term 2 "": empty`,
		"env=":                     `term 1 "env=": empty value`,
		"host=a||b":                "empty value",
		"ro le=edge":               `key "ro le"`,
		"host=[":                   `value "[": bad glob`,
		"host=":                    `term 1 "host=": empty value`,
		"=x":                       `key ""`,
		",,":                       `term 1 "": empty`,
		"host=a,,env=b":            `term 2 "": empty`,
		"é=x":                      `key "é"`,
		"host=a|":                  "empty value",
		strings.Repeat("a", Max+1): "more than the",
	} {
		if _, err := Parse(sel); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", sel, err, want)
		}
	}
}

func TestSelectorNamesHosts(t *testing.T) {
	for sel, want := range map[string][]string{
		"host=b|a|b":     {"a", "b"},
		"host=edge-*":    nil,
		"env=prod":       nil,
		"host=a,env=p":   nil,
		"*":              nil,
		"host=a|b|edge*": nil,
		"host=é|a":       {"a"}, // no host is called é: not asked
		"host=é":         nil,
		"host!=a":        nil, // names every host but a
	} {
		s, err := Parse(sel)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Named(); !slices.Equal(got, want) {
			t.Errorf("%q names %v, want %v", sel, got, want)
		}
	}
}

// TestLoose: a filter typed a key at a time is read as a selector when it
// is one and is never refused; what is not one is left to the caller.
func TestLoose(t *testing.T) {
	prod := map[string]string{"env": "prod"}
	for _, c := range []struct {
		q      string
		host   string
		labels map[string]string
		want   bool
	}{
		{"env=prod,", "a", prod, true}, // a trailing comma while typing
		{"env=prod,,role=x", "a", prod, false},
		{"host=[", "[", nil, true}, // a glob that does not parse, literally
		{"host=edge-*", "edge-2", nil, true},
		{"*", "", nil, true},
		{"host=a", "", nil, false},      // an instance of one host's API
		{"host!=a", "", nil, true},      // has no host to be a
		{"env = prod", "a", prod, true}, // spaces around the parts
	} {
		sel, ok := ParseLoose(c.q)
		if !ok {
			t.Fatalf("%q not read as a selector", c.q)
		}
		if got := sel.Match(c.host, c.labels); got != c.want {
			t.Errorf("%q on %q %v: %v, want %v", c.q, c.host, c.labels, got, c.want)
		}
	}
	for _, q := range []string{"echo", "=x", "a b=c", "env=prod,echo", ",,", "é=x", ""} {
		if _, ok := ParseLoose(q); ok {
			t.Errorf("%q read as a selector", q)
		}
	}
	if sel, ok := ParseLoose("env=" + strings.Repeat("x", 2*Max)); !ok || len(sel.String()) != Max {
		t.Errorf("a long filter: %v, %d bytes kept, want %d", ok, len(sel.String()), Max)
	}
}

func TestNameBounded(t *testing.T) {
	if !Name(strings.Repeat("a", MaxName)) || Name(strings.Repeat("a", MaxName+1)) {
		t.Fatalf("a name of %d bytes is one, of %d not", MaxName, MaxName+1)
	}
}
