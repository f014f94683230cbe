package tui

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/supervisor"
)

// TestRecordsTableAndExport: v shows ticker's tick records as a table with
// a column per field, the filter applies to a field (seq=…) or any field,
// and :export writes what the table shows as JSON lines or CSV, to new
// files only, 0600, saying how many.
func TestRecordsTableAndExport(t *testing.T) {
	r := startRig(t, true)
	r.waitState("ticker", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitFor("ticker")
	c.press("G", "2")
	c.waitFor("DATA_TYPE", "seq=")
	c.press("v")
	s := c.waitFor("TIME         INTERVAL SEQ", "table tick")
	if !regexp.MustCompile(`\d\d:\d\d:\d\d\.\d{3} 50ms\s+\d+`).MatchString(s) {
		t.Fatalf("no table row:\n%s", s)
	}
	c.press("tab", "/") // the detail pane's filter: on the table, / filters plugins
	c.waitFor("field=value or text /")
	c.typeText("seq=1")
	c.press("enter")
	s = c.waitFor("filter seq=1")
	for _, l := range strings.Split(s, "\n") {
		if m := regexp.MustCompile(`50ms\s+(\d+)`).FindStringSubmatch(l); m != nil && !strings.Contains(m[1], "1") {
			t.Errorf("a row not matching seq=1: %q", l)
		}
	}
	var shown int
	c.inspect(func(m *Model) { recs, _ := m.detail.Shown(m.store); shown = len(recs) })
	if shown == 0 {
		t.Fatal("nothing shown")
	}

	dir := t.TempDir()
	jsonPath, csvPath := filepath.Join(dir, "ticks.json"), filepath.Join(dir, "ticks.csv")
	c.press(":")
	c.typeText("export json " + jsonPath)
	c.press("enter")
	s = c.waitFor("exported ", " to "+jsonPath)
	n := exportedCount(t, s)
	lines := fileLines(t, jsonPath)
	if len(lines) != n || n < shown {
		t.Fatalf("flash says %d, file has %d lines, %d were shown", n, len(lines), shown)
	}
	for _, l := range lines {
		var rec struct {
			Plugin, Instance string
			Fields           map[string]string
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec.Plugin != "ticker" || rec.Fields["data_type"] != "tick" ||
			!strings.Contains(rec.Fields["seq"], "1") {
			t.Fatalf("line %q: %+v %v", l, rec, err)
		}
	}

	c.press(":")
	c.typeText("export csv " + csvPath)
	c.press("enter")
	s = c.waitFor("exported ", " to "+csvPath)
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != exportedCount(t, s)+1 || strings.Join(rows[0], ",") != "time,data_type,interval,seq" {
		t.Fatalf("csv %q %v", rows, err)
	}
	for _, p := range []string{jsonPath, csvPath} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", p, fi.Mode(), err)
		}
	}

	// Never over a file, nor through a symlink.
	c.press(":")
	c.typeText("export json " + jsonPath)
	c.press("enter")
	c.waitFor("export: open " + jsonPath + ": file exists")
	link := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join(dir, "target"), link); err != nil {
		t.Fatal(err)
	}
	c.press(":")
	c.typeText("export csv " + link)
	c.press("enter")
	c.waitFor("export: open " + link + ": file exists")
	if _, err := os.Lstat(filepath.Join(dir, "target")); err == nil {
		t.Fatal("the export wrote through a symlink")
	}

	c.press("v")
	c.waitFor("DATA_TYPE", "records list")
}

func exportedCount(t *testing.T, screen string) int {
	t.Helper()
	m := regexp.MustCompile(`exported (\d+) records? to`).FindStringSubmatch(screen)
	if m == nil {
		t.Fatalf("no count:\n%s", screen)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func fileLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
