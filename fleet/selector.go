package fleet

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Selector picks hosts of a fleet by name and labels:
//
//   - every host (so does "")
//     host=edge-1           one host
//     host=edge-1|edge-2    either (alternatives are '|'-separated)
//     host=edge-*           a glob (path.Match: * ? [...])
//     env=prod,role=edge    labels; terms separated by ',' must all hold
//
// A label term holds for a host that has the label with a matching value.
// Label values never hold '=', ',', '|' or glob characters (registry
// refuses them), so the syntax is unambiguous.
type Selector struct {
	terms []selTerm
	text  string
}

type selTerm struct {
	key    string   // "host", or a label's name
	values []string // alternatives, each a literal or a glob
}

// MaxSelector bounds a selector's text.
const MaxSelector = 4 << 10

// ParseSelector reads a selector; an error names the term that is wrong.
func ParseSelector(s string) (Selector, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxSelector {
		return Selector{}, fmt.Errorf("selector: %d bytes, more than the %d allowed", len(s), MaxSelector)
	}
	sel := Selector{text: s}
	if s == "" || s == "*" {
		return sel, nil
	}
	for i, t := range strings.Split(s, ",") {
		term, err := parseTerm(strings.TrimSpace(t))
		if err != nil {
			return Selector{}, fmt.Errorf("selector %q: term %d %q: %w", s, i+1, t, err)
		}
		sel.terms = append(sel.terms, term)
	}
	return sel, nil
}

func parseTerm(t string) (selTerm, error) {
	key, vals, ok := strings.Cut(t, "=")
	switch {
	case t == "":
		return selTerm{}, fmt.Errorf("empty (want KEY=VALUE, e.g. host=edge-1 or env=prod)")
	case !ok:
		return selTerm{}, fmt.Errorf("no '=' (want KEY=VALUE, e.g. host=edge-1 or env=prod, or * for every host)")
	case key == "" || !isToken(key):
		return selTerm{}, fmt.Errorf("key %q: want the word host or a label name (letters, digits, '_' or '-')", key)
	}
	term := selTerm{key: key}
	for _, v := range strings.Split(vals, "|") {
		if v == "" {
			return selTerm{}, fmt.Errorf("empty value (want %s=VALUE, alternatives as a|b)", key)
		}
		if _, err := path.Match(v, ""); err != nil {
			return selTerm{}, fmt.Errorf("value %q: bad glob: %w", v, err)
		}
		term.values = append(term.values, v)
	}
	return term, nil
}

// String is the selector as written.
func (s Selector) String() string {
	if len(s.terms) == 0 {
		return "*"
	}
	return s.text
}

// All reports whether the selector picks every host.
func (s Selector) All() bool { return len(s.terms) == 0 }

// Match reports whether host, with labels, is picked.
func (s Selector) Match(host string, labels map[string]string) bool {
	for _, t := range s.terms {
		v, ok := host, true
		if t.key != "host" {
			v, ok = labels[t.key]
		}
		if !ok || !t.match(v) {
			return false
		}
	}
	return true
}

func (t selTerm) match(v string) bool {
	for _, pat := range t.values {
		if ok, _ := path.Match(pat, v); ok {
			return true
		}
	}
	return false
}

// Named is the hosts the selector names outright, sorted: those of a host
// term without globs, when there is one. They are asked even when
// discovery has not found them, so a host that is down is reported as
// such rather than left out. Only a selector of one host term without
// globs names hosts; nil for any other.
func (s Selector) Named() []string {
	if len(s.terms) != 1 || s.terms[0].key != "host" {
		return nil
	}
	var out []string
	for _, v := range s.terms[0].values {
		if strings.ContainsAny(v, `*?[\`) {
			return nil
		}
		if validToken(v) && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}
