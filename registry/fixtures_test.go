package registry

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBadFixtures loads each config under testdata/bad (this package's own
// fixtures, beside the shared ones TestBadConfigs reads) and compares the
// full error text with its "# want: " comments.
func TestBadFixtures(t *testing.T) {
	t.Setenv("HOME", "/home/test")
	t.Setenv("XDG_STATE_HOME", "")
	paths, err := filepath.Glob("testdata/bad/*.toml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".toml"), func(t *testing.T) {
			want := wantedErrors(t, path, false)
			if len(want) == 0 {
				t.Fatal("fixture declares no errors")
			}
			cfg, err := Load(path)
			var errs *Errors
			if cfg != nil || !errors.As(err, &errs) {
				t.Fatalf("Load = %v, %v; want only *Errors", cfg, err)
			}
			if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, want) {
				t.Errorf("errors differ\n got:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
			}
		})
	}
}
