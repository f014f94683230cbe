package registry

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Size is a number of bytes, written in TOML as "512", "64KiB", "10MiB" or
// "10MB" (units are case-insensitive; KiB/MiB/GiB/TiB are binary, KB/MB/GB/TB
// decimal).
type Size int64

const (
	KiB Size = 1 << (10 * (iota + 1))
	MiB
	GiB
	TiB
)

var sizeUnits = map[string]Size{
	"": 1, "b": 1,
	"kib": KiB, "mib": MiB, "gib": GiB, "tib": TiB,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
}

// ParseSize reads a size such as "10MiB". Bare "K"/"M"/"G" are refused:
// whether they mean 1000 or 1024 is exactly the doubt a config should not leave.
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	split := strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	if split < 0 {
		split = len(t)
	}
	if split == 0 {
		return 0, fmt.Errorf("invalid size %q (want a whole number of bytes with an optional unit, e.g. \"512\", \"64KiB\", \"10MiB\")", s)
	}
	unit, ok := sizeUnits[strings.ToLower(strings.TrimSpace(t[split:]))]
	if !ok {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (want B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)", s, strings.TrimSpace(t[split:]))
	}
	n, err := strconv.ParseInt(t[:split], 10, 64)
	if err != nil || n > math.MaxInt64/int64(unit) {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return Size(n) * unit, nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalText implements encoding.TextMarshaler; it round-trips with UnmarshalText.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// String prints the largest binary unit that divides the size exactly, then
// tries decimal units (so "10MB" prints as written), else plain bytes.
func (s Size) String() string {
	if s == 0 {
		return "0"
	}
	for _, u := range []struct {
		n    Size
		name string
	}{{TiB, "TiB"}, {GiB, "GiB"}, {MiB, "MiB"}, {KiB, "KiB"}, {1e12, "TB"}, {1e9, "GB"}, {1e6, "MB"}, {1e3, "KB"}} {
		if s%u.n == 0 {
			return strconv.FormatInt(int64(s/u.n), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10)
}
