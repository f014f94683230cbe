package clip

import "testing"

func TestHeadAndText(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		head string
		text string
	}{
		{"short", 10, "short", "short"},
		{"abcdef", 3, "abc", "abc…(+3 bytes)"},
		{"héllo", 2, "h", "h…(+5 bytes)"}, // é is two bytes: not split
		{"x", 0, "", "…(+1 bytes)"},
	} {
		if got := Head(c.s, c.n); got != c.head {
			t.Errorf("Head(%q, %d) = %q, want %q", c.s, c.n, got, c.head)
		}
		if got := Text(c.s, c.n); got != c.text {
			t.Errorf("Text(%q, %d) = %q, want %q", c.s, c.n, got, c.text)
		}
	}
}
