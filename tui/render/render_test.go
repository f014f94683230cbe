package render

import (
	"strings"
	"testing"
	"time"

	"charm.land/lipgloss/v2"
)

func TestFitAndFrame(t *testing.T) {
	if got := Fit("abcdef", 4); got != "abc…" {
		t.Errorf("Fit = %q", got)
	}
	if got := Fit("ab", 4); got != "ab  " {
		t.Errorf("Fit = %q", got)
	}
	if got := FitRight("7", 3); got != "  7" {
		t.Errorf("FitRight = %q", got)
	}
	f := Frame(lipgloss.NewStyle(), "Title that is far too long for it", []string{"a", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}, 12, 5)
	lines := strings.Split(f, "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		if Width(l) != 12 {
			t.Errorf("line %q is %d wide", l, Width(l))
		}
	}
}

func TestSanitizeAndHighlight(t *testing.T) {
	if got := Sanitize("a\x1b[31mred\x1b[0m\tb\x07"); got != "ared    b " {
		t.Errorf("Sanitize = %q", got)
	}
	if IndexFold("Hello World", "WORLD") != 6 || IndexFold("abc", "x") != -1 {
		t.Error("IndexFold")
	}
	hl := lipgloss.NewStyle().Underline(true)
	if got := Highlight("a-b-a", "A", lipgloss.NewStyle(), hl); !strings.Contains(got, "-b-") {
		t.Errorf("Highlight = %q", got)
	}
}

func TestUnits(t *testing.T) {
	cases := map[string]string{
		Duration(850 * time.Microsecond): "850µs", Duration(3400 * time.Millisecond): "3.4s",
		Duration(302 * time.Second): "5m02s", Age(400 * time.Millisecond): "<1s", Age(42900 * time.Millisecond): "42s",
		Bytes(512): "512B", Bytes(12 << 20): "12MiB", Rate(3456): "3.5k", Rate(0): "0", Count(123456): "123k",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if got := Sparkline([]float64{0, 1, 2, 4}, 3); got != "▂▄█" {
		t.Errorf("Sparkline = %q", got)
	}
}

func TestWrapWords(t *testing.T) {
	got := WrapWords("a child that calls setsid is not reached", 12)
	want := []string{"a child that", "calls setsid", "is not", "reached"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("WrapWords = %q, want %q", got, want)
	}
	for _, l := range WrapWords("cgroup.kill(cgroup2-at-/sys/fs/cgroup/unified)", 10) {
		if Width(l) > 10 {
			t.Errorf("line %q is wider than 10 cells", l)
		}
	}
}

func TestHead(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 5, "abc"}, {"abcdef", 3, "abc"}, {"aé", 2, "a"}, {"é", 1, ""}, {"abc", -1, ""},
	} {
		if got := Head(c.s, c.n); got != c.want {
			t.Errorf("Head(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}

// TestBytesIEC: one formatter, IEC units, never wider than the RSS column.
func TestBytesIEC(t *testing.T) {
	cases := map[int64]string{
		0: "0B", 1023: "1023B", 1024: "1.0KiB", 10 << 10: "10KiB", 1023 << 10: "1023KiB",
		9_800_000: "9.3MiB", 1 << 30: "1.0GiB", 3 << 40: "3.0TiB", -5: "0B",
	}
	for n, want := range cases {
		got := Bytes(n)
		if got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
		if Width(got) > 7 {
			t.Errorf("Bytes(%d) = %q: wider than 7 cells", n, got)
		}
	}
}
