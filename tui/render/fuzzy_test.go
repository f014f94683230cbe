package render

import "testing"

func TestFuzzy(t *testing.T) {
	for _, c := range []struct {
		s, q string
		hit  bool
	}{
		{"echo.12", "e12", true},
		{"echo.12", "E 1 2", true}, // spaces in the query are ignored, everywhere
		{"echo.12", "21", false},
		{"Ünïcode", "üï", true},
		{"anything", "  ", false},
	} {
		want := FuzzyQuery(c.q)
		if got := FuzzyHit(c.s, want); got != c.hit {
			t.Errorf("FuzzyHit(%q, %q) = %v", c.s, c.q, got)
		}
		if got := FuzzySpans(c.s, want) != nil; got != c.hit {
			t.Errorf("FuzzySpans(%q, %q) found = %v", c.s, c.q, got)
		}
	}
	if got := FuzzySpans("echo.12", FuzzyQuery("ec2")); len(got) != 2 || got[0][0] != 0 || got[0][1] != 2 || got[1][0] != 6 {
		t.Errorf("spans %v", got)
	}
}
