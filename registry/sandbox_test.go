package registry

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// A sandbox table turns the sandbox on, even empty or inline; relative
// paths resolve against the file that wrote them, a manifest's own dir for
// a manifest.
func TestSandboxTables(t *testing.T) {
	dir := t.TempDir()
	exe := writeScript(t, dir, "p", "exit 0")
	plugin := func(name string) string {
		return fmt.Sprintf("[plugins.%s]\nexec = %q\nsha256 = %q\n", name, exe, sha256Hex(name))
	}
	manifestDir := filepath.Join(dir, "m", "fromdir")
	writeFile(t, filepath.Join(manifestDir, "plugin.toml"), fmt.Sprintf(`exec = %q
sha256 = %q

[sandbox]
read_write = ["state"]
`, exe, sha256Hex("m")))
	path := filepath.Join(dir, "c.toml")
	_, other := accountsForTest(t) // a sandboxed plugin needs a user of its own
	src := "[agent]\nwork_dir = \"w\"\nmanifest_dirs = [\"m\"]\n" + fmt.Sprintf("user = %q\n", other.name) +
		plugin("none") +
		plugin("empty") + "[plugins.empty.sandbox]\n" +
		plugin("inline") + "sandbox = {}\n" +
		plugin("full") + `[plugins.full.sandbox]
read_only = ["/usr/share/zoneinfo", "lib"]
read_write = ["/var/lib/full"]
tcp_connect = [443, 5432]
tcp_bind = [8080]
`
	cfg, err := Parse(path, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(src)
	if s := cfg.Plugin("none").Sandbox; s != nil {
		t.Errorf("no table, sandbox %+v", s)
	}
	for name, want := range map[string]*Sandbox{
		"empty":  {Where: Pos{File: path, Line: lineOf(t, data, "[plugins.empty.sandbox]")}},
		"inline": {Where: Pos{File: path, Line: lineOf(t, data, "sandbox = {}")}},
		"full": {
			ReadOnly:   []string{"/usr/share/zoneinfo", filepath.Join(dir, "lib")},
			ReadWrite:  []string{"/var/lib/full"},
			TCPConnect: []uint16{443, 5432},
			TCPBind:    []uint16{8080},
			Where:      Pos{File: path, Line: lineOf(t, data, "[plugins.full.sandbox]")},
		},
		"fromdir": {
			ReadWrite: []string{filepath.Join(manifestDir, "state")},
			Where:     Pos{File: filepath.Join(manifestDir, "plugin.toml"), Line: 4},
		},
	} {
		if got := cfg.Plugin(name).Sandbox; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: sandbox %+v, want %+v", name, got, want)
		}
	}
}

// A sandboxed plugin of plugvisor's own uid is refused at its table: it
// would share its Landlock domain with the supervisor's forking thread.
func TestSandboxNeedsOwnUser(t *testing.T) {
	dir := t.TempDir()
	exe := writeScript(t, dir, "p", "exit 0")
	path := filepath.Join(dir, "c.toml")
	src := fmt.Sprintf("[agent]\nwork_dir = \"w\"\n[plugins.boxed]\nexec = %q\nsha256 = %q\n[plugins.boxed.sandbox]\n", exe, sha256Hex("x"))
	_, err := Parse(path, []byte(src))
	want := fmt.Sprintf("%s:6: plugins.boxed.sandbox: a sandboxed plugin needs a user of its own", path)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
}
