package themes

import (
	"math/rand/v2"
	"regexp"
	"testing"
)

// TestShapesMatchTheirExpressions: the byte-by-byte checks accept and
// refuse exactly what the regular expressions they replace did, over
// every short string of the bytes that matter and many random ones.
func TestShapesMatchTheirExpressions(t *testing.T) {
	color := regexp.MustCompile(`^(#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3}|[0-9]{1,3})?$`)
	key := regexp.MustCompile(`^\s*"?([A-Za-z0-9_-]+)"?\s*=`)
	const alphabet = "#09afAFgz_- \t\"=\v.x"
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(s string) {
		if got, want := colorShape(s), color.MatchString(s); got != want {
			t.Errorf("colorShape(%q) = %v, the expression says %v", s, got, want)
		}
		gotKey, gotOK := lineKey(s)
		m := key.FindStringSubmatch(s)
		if gotOK != (m != nil) || gotOK && gotKey != m[1] {
			t.Errorf("lineKey(%q) = %q %v, the expression says %q", s, gotKey, gotOK, m)
		}
	}
	var all func(prefix string, n int)
	all = func(prefix string, n int) {
		check(prefix)
		if n == 0 {
			return
		}
		for i := range len(alphabet) {
			all(prefix+alphabet[i:i+1], n-1)
		}
	}
	all("", 4)
	for range 200_000 {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		check(string(b))
	}
}
