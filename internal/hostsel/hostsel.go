// Package hostsel is the one reading of a host selector, the text that
// picks hosts of a fleet by name and labels: fleet ctl, scripts and the
// fleet API take it strictly, the console's table filter loosely, as it is
// typed a key at a time. One syntax, one meaning, wherever it is typed:
//
//   - every host (so does "")
//     host=edge-1             one host
//     host=edge-1|edge-2      either (alternatives are '|'-separated)
//     host=edge-*             a glob (path.Match: * ? [...])
//     env=prod,role=edge      labels; terms separated by ',' must all hold
//     env!=prod               every host but those whose env is prod, a host
//     without the label included
//
// A label term holds for a host that has the label with a matching value.
// Label values never hold '=', ',', '|' or glob characters (registry
// refuses them), so the syntax is unambiguous.
package hostsel

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Max bounds a selector's text.
const Max = 4 << 10

// Selector is a parsed selector; the zero value picks every host.
type Selector struct {
	terms []term
	text  string
}

type term struct {
	key    string   // "host", or a label's name
	values []string // alternatives, each a literal or a glob
	not    bool     // KEY!=VALUE
}

// Parse reads a selector; an error names the term that is wrong.
func Parse(s string) (Selector, error) {
	s = strings.TrimSpace(s)
	if len(s) > Max {
		return Selector{}, fmt.Errorf("selector: %d bytes, more than the %d allowed", len(s), Max)
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

// ParseLoose reads a filter as it is being typed: empty terms (a trailing
// comma) are skipped, and a glob that does not parse is matched literally,
// so nothing typed is ever refused; ok is false when q is no selector at
// all (no '=', or a key that is no label name), for the caller to read it
// another way. q is cut at Max.
func ParseLoose(q string) (sel Selector, ok bool) {
	q = strings.TrimSpace(q)
	if len(q) > Max {
		q = q[:Max]
	}
	if q == "*" {
		return Selector{text: q}, true
	}
	if !strings.Contains(q, "=") {
		return Selector{}, false
	}
	sel.text = q
	for part := range strings.SplitSeq(q, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		t, ok := splitTerm(part)
		if !ok || !Name(t.key) {
			return Selector{}, false
		}
		sel.terms = append(sel.terms, t)
	}
	return sel, len(sel.terms) > 0
}

// splitTerm cuts KEY=VALUE or KEY!=VALUE; ok is false without '='.
func splitTerm(t string) (term, bool) {
	key, vals, ok := strings.Cut(t, "=")
	key = strings.TrimSpace(key)
	out := term{key: key, values: strings.Split(strings.TrimSpace(vals), "|")}
	if k, cut := strings.CutSuffix(key, "!"); cut {
		out.key, out.not = strings.TrimSpace(k), true
	}
	return out, ok
}

func parseTerm(t string) (term, error) {
	out, ok := splitTerm(t)
	switch {
	case t == "":
		return term{}, fmt.Errorf("empty (want KEY=VALUE, e.g. host=edge-1 or env=prod)")
	case !ok:
		return term{}, fmt.Errorf("no '=' (want KEY=VALUE, e.g. host=edge-1 or env=prod, or * for every host)")
	case !Name(out.key):
		return term{}, fmt.Errorf("key %q: want the word host or a label name (letters, digits, '_' or '-')", out.key)
	}
	for _, v := range out.values {
		if v == "" {
			return term{}, fmt.Errorf("empty value (want %s=VALUE, alternatives as a|b)", out.key)
		}
		if _, err := path.Match(v, ""); err != nil {
			return term{}, fmt.Errorf("value %q: bad glob: %w", v, err)
		}
	}
	return out, nil
}

// MaxName bounds a host's or a label's name, as registry does.
const MaxName = 64

// Name reports whether s can be a host or label name: 1 to MaxName
// letters, digits, '_' or '-' (the bytes of a NATS subject token that need
// no escaping).
func Name(s string) bool {
	if s == "" || len(s) > MaxName {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// String is the selector as written, "*" for every host.
func (s Selector) String() string {
	if len(s.terms) == 0 {
		return "*"
	}
	return s.text
}

// All reports whether the selector picks every host.
func (s Selector) All() bool { return len(s.terms) == 0 }

// Match reports whether host, with labels, is picked. An empty host (an
// instance of a single host's API) has no host to match.
func (s Selector) Match(host string, labels map[string]string) bool {
	for _, t := range s.terms {
		v, ok := labels[t.key]
		if t.key == "host" {
			v, ok = host, host != ""
		}
		if (ok && t.holds(v)) == t.not {
			return false
		}
	}
	return true
}

// holds reports whether v is one of the term's values; a glob that does
// not parse (only ParseLoose keeps one) is matched literally.
func (t term) holds(v string) bool {
	for _, pat := range t.values {
		if pat == v {
			return true
		}
		if ok, err := path.Match(pat, v); ok && err == nil {
			return true
		}
	}
	return false
}

// Named is the hosts the selector names outright, sorted: those of a host
// term without globs, when there is one. They are asked even when
// discovery has not found them, so a host that is down is reported as
// such rather than left out. Only a selector of one host term, without
// globs or '!=', names hosts; nil for any other.
func (s Selector) Named() []string {
	if len(s.terms) != 1 || s.terms[0].key != "host" || s.terms[0].not {
		return nil
	}
	var out []string
	for _, v := range s.terms[0].values {
		if strings.ContainsAny(v, `*?[\`) {
			return nil
		}
		if Name(v) && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}
