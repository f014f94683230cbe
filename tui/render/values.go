package render

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
)

// Small values the detail pane and the describe view both show, written
// the same way in both.

// NoCgroup says what an instance without a cgroup lacks: its process group
// is all that is signalled, and a child that calls setsid escapes it.
const NoCgroup = "none: process group only; a child that calls setsid is not reached"

// Stamp is a time to the second, or - for none.
func Stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02 15:04:05")
}

// OrDash is s, or - when it is empty.
func OrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// YesNo is b as yes or no.
func YesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Uint is n in decimal.
func Uint(n uint64) string { return strconv.FormatUint(n, 10) }

// RTT is a round-trip percentile, or "-" when there is none: with no task
// answered, 0s would read as a measurement.
func RTT(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return Duration(d)
}

// Unreachable says, for people, that a host has stopped answering and
// when it last did; "" while it answers. The table, the detail pane and
// describe all say it so.
func Unreachable(unreachable bool, lastSeen, now time.Time) string {
	switch {
	case !unreachable:
		return ""
	case lastSeen.IsZero():
		return "unreachable, never seen"
	}
	return "unreachable, last seen " + Age(max(now.Sub(lastSeen), 0)) + " ago"
}

// Labels writes a host's labels as a selector would, key=value sorted by
// key, or none.
func Labels(l map[string]string) string {
	if len(l) == 0 {
		return "none"
	}
	out := make([]string, 0, len(l))
	for k, v := range l {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// Local is name (a plugin or instance qualified HOST/NAME over many hosts)
// as host names it, for a pane that already says which host: name itself
// when it is not on host.
func Local(host, name string) string {
	if host == "" {
		return name
	}
	if h, l, ok := supervisor.SplitHost(name); ok && h == host {
		return l
	}
	return name
}
