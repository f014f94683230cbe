package registry

import (
	"math"
	"strconv"
	"strings"
)

// Limits of one plugin instance's cgroup; zero means no limit.
type Limits struct {
	MemoryMax  Size    // memory_max, e.g. "64MiB"
	MemoryHigh Size    // memory_high
	CPUMax     float64 // cpu_max: a share of one core; "25%" is 0.25, "150%" is 1.5
	PidsMax    int     // pids_max: processes+threads
}

const (
	// minMemory is the least memory limit accepted: below it not even a
	// static binary's first pages fit, so the plugin would die at birth.
	minMemory = MiB
	// maxCPUPercent is a thousand cores: anything above is a typo.
	maxCPUPercent = 100000
	// minPids counts the supervisor's forking thread, which is in the
	// group, where it waits while the plugin runs.
	minPids = 2
)

// IsZero reports whether l sets no limit at all.
func (l Limits) IsZero() bool { return l == Limits{} }

// String lists the limits set, e.g. "memory_max 64MiB, cpu_max 25%,
// pids_max 32"; it is empty when none is.
func (l Limits) String() string {
	var parts []string
	if l.MemoryMax != 0 {
		parts = append(parts, "memory_max "+l.MemoryMax.String())
	}
	if l.MemoryHigh != 0 {
		parts = append(parts, "memory_high "+l.MemoryHigh.String())
	}
	if l.CPUMax != 0 {
		parts = append(parts, "cpu_max "+percent(l.CPUMax))
	}
	if l.PidsMax != 0 {
		parts = append(parts, "pids_max "+strconv.Itoa(l.PidsMax))
	}
	return strings.Join(parts, ", ")
}

// percent prints a share of a core as the percentage it was written as;
// the rounding hides float noise such as 33.300000000000004.
func percent(share float64) string {
	return strconv.FormatFloat(math.Round(share*100*1e9)/1e9, 'f', -1, 64) + "%"
}

// inherit returns l with every key the plugin did not write taken from
// the agent's defaults.
func (l Limits) inherit(def Limits, own func(key string) bool) Limits {
	if !own("memory_max") {
		l.MemoryMax = def.MemoryMax
	}
	if !own("memory_high") {
		l.MemoryHigh = def.MemoryHigh
	}
	if !own("cpu_max") {
		l.CPUMax = def.CPUMax
	}
	if !own("pids_max") {
		l.PidsMax = def.PidsMax
	}
	return l
}

func limitFields(l *Limits) map[string]setter {
	return map[string]setter{
		"memory_max":  memoryLimit(&l.MemoryMax),
		"memory_high": memoryLimit(&l.MemoryHigh),
		"cpu_max":     cpuLimit(&l.CPUMax),
		"pids_max":    integer(&l.PidsMax),
	}
}

// memoryLimit decodes a size or "none". A written 0 is refused rather
// than read as none: zero bytes reads as "no memory at all" just as well,
// and a limit should not leave that doubt.
func memoryLimit(dst *Size) setter {
	return func(d *decoder, k keyPath, v any) {
		if v == "none" {
			*dst = 0
			return
		}
		switch v.(type) {
		case int64, string:
		default:
			d.fail(k, `must be a size such as "64MiB", or "none", got %s`, describe(v))
			return
		}
		n, err := sizeValue(v)
		switch {
		case err != nil:
			d.fail(k, "%v", err)
		case n == 0:
			d.fail(k, `0 would read as no memory at all: write "none" for no limit, or a size of at least %s`, minMemory)
		default:
			*dst = n
		}
	}
}

// parsePercent is the number of "N%" or "N.M%", digits only; ok is false for
// anything else.
func parsePercent(s string) (digits string, ok bool) {
	n, found := strings.CutSuffix(s, "%")
	whole, frac, dot := strings.Cut(n, ".")
	if !found || !allDigits(whole) || dot && !allDigits(frac) {
		return "", false
	}
	return n, true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// cpuLimit decodes "N%" of one core, or "none". A bare number is refused
// because nobody can tell whether 2 means two cores or 2%.
func cpuLimit(dst *float64) setter {
	return func(d *decoder, k keyPath, v any) {
		s, ok := v.(string)
		if ok && s == "none" {
			*dst = 0
			return
		}
		digits, isPct := parsePercent(s)
		if !ok || !isPct {
			d.fail(k, `must be a share of one core such as "25%%" or "150%%", or "none", got %s`, describe(v))
			return
		}
		// Only a range error is possible after the match; its ±Inf is
		// reported as out of range by the validator.
		pct, _ := strconv.ParseFloat(digits, 64)
		if pct == 0 {
			d.fail(k, `0%% would read as no CPU at all: write "none" for no limit`)
			return
		}
		*dst = pct / 100
	}
}

// limits checks one set of limits. own says which keys were written where
// k points; the others came from the agent and were checked there, so each
// problem is reported once, at the key that wrote it.
func (v *validator) limits(k keyPath, l Limits, own func(key string) bool) {
	if own("memory_max") {
		v.memory(k.key("memory_max"), l.MemoryMax)
	}
	if own("memory_high") {
		v.memory(k.key("memory_high"), l.MemoryHigh)
	}
	if own("cpu_max") && (l.CPUMax < 0 || l.CPUMax > maxCPUPercent/100 || math.IsNaN(l.CPUMax)) {
		v.fail(k.key("cpu_max"), "%s is out of range (want more than 0%% and at most %d%%, a thousand cores)", percent(l.CPUMax), maxCPUPercent)
	}
	if own("pids_max") && (l.PidsMax < 0 || l.PidsMax > 0 && l.PidsMax < minPids) {
		v.fail(k.key("pids_max"), "must be 0 (no limit) or at least %d, got %d: the supervisor's thread that forks the plugin waits in its group and is counted",
			minPids, l.PidsMax)
	}
	v.memoryOrder(k, l, own)
}

func (v *validator) memory(k keyPath, n Size) {
	if n < 0 || n > 0 && n < minMemory {
		v.fail(k, `%s is too small (want at least %s, or "none"): below it a process cannot even start`, n, minMemory)
	}
}

// memoryOrder wants memory_high below memory_max: memory_high throttles
// and reclaims so that memory_max, which kills, is rarely reached; above
// it, it would never act.
func (v *validator) memoryOrder(k keyPath, l Limits, own func(key string) bool) {
	if l.MemoryMax == 0 || l.MemoryHigh == 0 || l.MemoryHigh <= l.MemoryMax {
		return
	}
	at := "memory_high"
	if !own(at) {
		at = "memory_max"
	}
	if !own(at) {
		return // both the agent's, reported there
	}
	from := func(key string) string {
		if own(key) {
			return ""
		}
		return ", from agent." + key
	}
	v.fail(k.key(at), "memory_high (%s%s) must not exceed memory_max (%s%s): it throttles the plugin so that memory_max, which kills it, is rarely reached, and above memory_max it would never act",
		l.MemoryHigh, from("memory_high"), l.MemoryMax, from("memory_max"))
}

func allOwn(string) bool { return true }
