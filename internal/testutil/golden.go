package testutil

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Golden compares got with dir/name.golden, or writes it there when the
// test runs with -update. The flag is looked up, not defined: teatest
// defines -update for the packages that use it, and defining it twice
// would clash, so a package without teatest defines it in its own test.
func Golden(t testing.TB, dir, name, got string) {
	t.Helper()
	path := filepath.Join(dir, name+".golden")
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test -update accepts it):\n%s", path, LineDiff(string(want), got))
	}
}

// LineDiff lists the lines that differ, numbered.
func LineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d\n  want: %q\n  got:  %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}
