package fleet

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
	} {
		sel, err := ParseSelector(c.sel)
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
		"edge-1":                           `selector "edge-1": term 1 "edge-1": no '='`,
		"env=prod,":                        `term 2 "": empty`,
		"env=":                             `term 1 "env=": empty value`,
		"host=a||b":                        "empty value",
		"ro le=edge":                       `key "ro le"`,
		"host=[":                           `value "[": bad glob`,
		"host=":                            `term 1 "host=": empty value`,
		"=x":                               `key ""`,
		",,":                               `term 1 "": empty`,
		"host=a,,env=b":                    `term 2 "": empty`,
		"é=x":                              `key "é"`,
		"host=a|":                          "empty value",
		strings.Repeat("a", MaxSelector+1): "more than the",
	} {
		if _, err := ParseSelector(sel); err == nil || !strings.Contains(err.Error(), want) {
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
	} {
		s, err := ParseSelector(sel)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Named(); !slices.Equal(got, want) {
			t.Errorf("%q names %v, want %v", sel, got, want)
		}
	}
}
