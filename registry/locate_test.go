package registry

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

const locateDoc = `# comment with key = "value"
top = 1
[agent]
name = "a" # trailing [comment]
  heartbeat_interval   =   "1s"
"quoted key" = 1
'literal.key' = 2
dotted.inner.leaf = 3

[plugins.echo]
env = { LEVEL = "debug", nested.deep = 1, "Q K" = 'v' }
description = """
fake = "not a key"
[not.a.table]
"""
author = '''
also = not a key'''
args = [
  "a",   # first
  "b, c",
  ["nested", 1],
]
when = 1979-05-27 07:32:00Z
sha256 = "x\"y = z"

[ plugins . "dotted.name" ]
exec = "e"

[[arr]]
x = 1
[[arr]]
y = 2
inline = { a = [ { b = 1 } ], c = 2 }
after = true
`

func TestKeyLines(t *testing.T) {
	got := keyLines(locateDoc)
	want := map[string]int{
		"top":                          2,
		"agent":                        3,
		"agent.name":                   4,
		"agent.heartbeat_interval":     5,
		`agent."quoted key"`:           6,
		`agent."literal.key"`:          7,
		"agent.dotted":                 8,
		"agent.dotted.inner":           8,
		"agent.dotted.inner.leaf":      8,
		"plugins":                      10,
		"plugins.echo":                 10,
		"plugins.echo.env":             11,
		"plugins.echo.env.LEVEL":       11,
		"plugins.echo.env.nested.deep": 11,
		`plugins.echo.env."Q K"`:       11,
		"plugins.echo.description":     12,
		"plugins.echo.author":          16,
		"plugins.echo.args":            18,
		"plugins.echo.args[0]":         19,
		"plugins.echo.args[1]":         20,
		"plugins.echo.args[2]":         21,
		"plugins.echo.when":            23,
		"plugins.echo.sha256":          24,
		`plugins."dotted.name"`:        26,
		`plugins."dotted.name".exec`:   27,
		"arr":                          29,
		"arr.x":                        30,
		"arr.y":                        32,
		"arr.inline":                   33,
		"arr.inline.c":                 33,
		"arr.after":                    34,
	}
	for k, line := range want {
		if got[k] != line {
			t.Errorf("line of %s = %d, want %d", k, got[k], line)
		}
	}
	for k := range got {
		if strings.Contains(k, "fake") || strings.Contains(k, "not") || strings.Contains(k, "also") {
			t.Errorf("located %q, which is inside a string", k)
		}
	}
}

// Every key toml itself sees must be located, in every config in testdata.
func TestKeyLinesCoversTOMLKeys(t *testing.T) {
	docs := []string{locateDoc}
	err := filepath.WalkDir(testdata, func(p string, d fs.DirEntry, err error) error {
		if err != nil || filepath.Ext(p) != ".toml" {
			return err
		}
		data, err := os.ReadFile(p)
		docs = append(docs, string(data))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 10 {
		t.Fatalf("only %d documents found", len(docs))
	}
	for i, doc := range docs {
		checkCoverage(t, doc, i)
	}
}

func checkCoverage(t *testing.T, doc string, i int) {
	t.Helper()
	var tree map[string]any
	md, err := toml.Decode(doc, &tree)
	if err != nil {
		return // syntax-error fixtures
	}
	lines := keyLines(doc)
	for _, k := range md.Keys() {
		if _, ok := lines[keyPath(k).String()]; !ok {
			t.Errorf("document %d: key %s not located; have %v", i, k, slices.Sorted(maps.Keys(lines)))
		}
	}
}

func TestKeyPathString(t *testing.T) {
	for _, c := range []struct {
		k    keyPath
		want string
	}{
		{keyPath{"agent", "name"}, "agent.name"},
		{keyPath{"plugins", "../x", "exec"}, `plugins."../x".exec`},
		{keyPath{"hosts", "edge-1", "plugins"}.index(2), "hosts.edge-1.plugins[2]"},
		{keyPath{"plugins", "echo", "args"}.index(0).index(1), "plugins.echo.args[0][1]"},
		{keyPath{"a", "", "b"}, `a."".b`},
		{nil, ""},
	} {
		if got := c.k.String(); got != c.want {
			t.Errorf("String() = %q, want %q", got, c.want)
		}
	}
}
