package plugins

import (
	"path"
	"strings"

	"github.com/plugvisor/plugvisor/supervisor"
)

// A filter made only of KEY=VALUE (or KEY!=VALUE) terms, comma-separated,
// selects by host and label as a fleet selector does (plugvisor fleet ctl
// takes the same text): host=edge-1 is the host, any other key a label of
// the instance's host (env=prod,role=edge). Every term must hold. A value
// is matched whole, case kept, as a glob (host=edge-*) and with
// alternatives (host=edge-1|edge-2). KEY!=VALUE holds where KEY=VALUE does
// not, a host without the label included, as !KEY=VALUE does. Empty terms
// (a trailing comma while typing) are ignored; * alone is every host.
// Any other filter is the fuzzy one.

// selector is a parsed label filter.
type selector []term

type term struct {
	key    string
	values []string // alternatives, each a glob (path.Match) or literal
	not    bool     // KEY!=VALUE
}

// parseSelector reads q as a selector; ok is false when q is not one.
func parseSelector(q string) (selector, bool) {
	if q == "*" { // every host, as fleet ctl reads it
		return selector{}, true
	}
	if !strings.Contains(q, "=") {
		return nil, false
	}
	var sel selector
	for part := range strings.SplitSeq(q, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		t := term{key: strings.TrimSpace(k), values: strings.Split(strings.TrimSpace(v), "|")}
		if key, cut := strings.CutSuffix(t.key, "!"); cut {
			t.key, t.not = strings.TrimSpace(key), true
		}
		if !ok || !labelKey(t.key) {
			return nil, false
		}
		sel = append(sel, t)
	}
	return sel, len(sel) > 0
}

// labelKey: letters, digits and . _ - /, as label keys are written.
func labelKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("._-/", r):
		default:
			return false
		}
	}
	return true
}

func (sel selector) match(st supervisor.PluginStatus) bool {
	for _, t := range sel {
		v, ok := st.HostLabels[t.key]
		if t.key == "host" {
			v, ok = st.Host, st.Host != ""
		}
		if (ok && t.holds(v)) == t.not {
			return false
		}
	}
	return true
}

// holds reports whether v is one of the term's values. A glob that does
// not parse ("[") is matched literally: the filter is typed a key at a
// time and is never refused.
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
