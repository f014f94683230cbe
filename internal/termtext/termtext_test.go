package termtext

import "testing"

func TestEscape(t *testing.T) {
	for _, tc := range []struct {
		in     string
		keepNL bool
		want   string
	}{
		{"plain text\twith tab", false, "plain text\twith tab"},
		{"red \x1b[31mX\x1b[0m", false, `red \x1b[31mX\x1b[0m`},
		{"a\nb\r", false, `a\nb\r`},
		{"a\nb\r", true, "a\nb\\r"},
		{"c1 \u009b del \x7f", false, `c1 \u009b del \x7f`},
		{"bad \xff byte", false, `bad \xff byte`},
		{"kept \uFFFD é ✓", false, "kept \uFFFD é ✓"},
		{"", false, ""},
	} {
		if got := Escape(tc.in, tc.keepNL); got != tc.want {
			t.Errorf("Escape(%q, %v) = %q, want %q", tc.in, tc.keepNL, got, tc.want)
		}
	}
}

func TestBlank(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                      "plain",
		"a\x1b[31mred\x1b[0m\tb\x07": "ared    b ",
		"line\nnext\r":               "line next ",
		"c1 \u009b del \x7f":         "c1   del  ",
		"bad \xff byte":              "bad   byte",
		"wide 日本 ✓":                  "wide 日本 ✓",
		"\x1b]0;title\x07after":      "after",
	} {
		if got := Blank(in); got != want {
			t.Errorf("Blank(%q) = %q, want %q", in, got, want)
		}
	}
}
