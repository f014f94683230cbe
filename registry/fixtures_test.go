package registry

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
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

// The annotated containment example loads (given its script and two users
// that exist here) with every key reaching the Config as described.
func TestContainmentExample(t *testing.T) {
	self, other := accountsForTest(t)
	dir := t.TempDir()
	// Any trusted interpreter does: only the Node.js test needs node.
	writeShebang(t, filepath.Join(dir, "bin"), "reporter.js", "#!/usr/bin/env sh", "exit 0")
	data, err := os.ReadFile("testdata/containment.toml")
	if err != nil {
		t.Fatal(err)
	}
	// The sandboxed reporter needs a uid other than the test's own; the
	// agent's default may be the test's.
	data = []byte(strings.NewReplacer(`user = "nobody"`, fmt.Sprintf("user = %q", self.name),
		`user = "daemon"`, fmt.Sprintf("user = %q", other.name)).Replace(string(data)))
	path := filepath.Join(dir, "config.toml")
	writeFile(t, path, string(data))
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	agent := Limits{MemoryMax: 256 * MiB, MemoryHigh: 192 * MiB, CPUMax: 0.5, PidsMax: 64}
	if cfg.Agent.Limits != agent || cfg.Agent.User != self.name || cfg.Agent.Group != "" {
		t.Errorf("agent limits %v, user %q group %q", cfg.Agent.Limits, cfg.Agent.User, cfg.Agent.Group)
	}
	p := cfg.Plugin("reporter")
	if want := (Limits{MemoryMax: GiB, MemoryHigh: 192 * MiB, PidsMax: 64}); p.Limits != want {
		t.Errorf("limits %v, want %v", p.Limits, want)
	}
	if p.User != other.name || p.Group != "" || p.UID != other.uid || p.GID != other.gid {
		t.Errorf("user %q group %q uid %d gid %d; want %s's own", p.User, p.Group, p.UID, p.GID, other.name)
	}
	want := &Sandbox{
		ReadOnly: []string{"/etc/ssl/certs", filepath.Join(dir, "share")}, ReadWrite: []string{"/var/lib/reporter"},
		TCPConnect: []uint16{443}, TCPBind: []uint16{8080}, Where: Pos{File: path, Line: lineOf(t, data, "[plugins.reporter.sandbox]")},
	}
	if !reflect.DeepEqual(p.Sandbox, want) {
		t.Errorf("sandbox %+v, want %+v", p.Sandbox, want)
	}
	if p.Exec != filepath.Join(dir, "bin", "reporter.js") {
		t.Errorf("exec %q", p.Exec)
	}
}
