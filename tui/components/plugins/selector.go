package plugins

import (
	"strings"

	"github.com/plugvisor/plugvisor/supervisor"
)

// A filter made only of KEY=VALUE (or KEY!=VALUE) terms, comma-separated,
// selects by host and label as a fleet selector does: host=edge-1 is the
// host, any other key a label of the instance's host (env=prod,role=edge).
// Every term must hold; a value is matched whole, case kept. Any other
// filter is the fuzzy one.

// selector is a parsed label filter.
type selector []term

type term struct {
	key, value string
	not        bool // KEY!=VALUE
}

// parseSelector reads q as a selector; ok is false when q is not one.
func parseSelector(q string) (selector, bool) {
	if !strings.Contains(q, "=") {
		return nil, false
	}
	var sel selector
	for part := range strings.SplitSeq(q, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		t := term{key: strings.TrimSpace(k), value: strings.TrimSpace(v)}
		if key, cut := strings.CutSuffix(t.key, "!"); cut {
			t.key, t.not = strings.TrimSpace(key), true
		}
		if !ok || !labelKey(t.key) {
			return nil, false
		}
		sel = append(sel, t)
	}
	return sel, true
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
		if (ok && v == t.value) == t.not {
			return false
		}
	}
	return true
}
