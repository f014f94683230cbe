package supervisor

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRotatingFileKeepsBackups(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	r := newRotating(dir, "x.log", 100, 2, slog.New(slog.DiscardHandler))
	line := strings.Repeat("x", 39) + "\n" // 40 bytes: two fit, the third rotates
	for i := range 7 {
		if _, err := fmt.Fprintf(r, "%d%s", i, line[1:]); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	want := map[string]string{path: "6", path + ".1": "4", path + ".2": "2"}
	for p, first := range want {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 100 || !strings.HasPrefix(string(data), first) {
			t.Fatalf("%s: %d bytes starting %q", p, len(data), data[:1])
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %v", p, fi.Mode())
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Fatal("more backups than configured")
	}
}

func TestLogRingIsBounded(t *testing.T) {
	l := newLogRing(3, 1<<20)
	for i := range 5 {
		l.add(LogLine{Text: fmt.Sprint(i)})
	}
	got := l.last(10)
	if len(got) != 3 || got[0].Text != "2" || got[2].Text != "4" {
		t.Fatalf("%+v", got)
	}
	if got := l.last(1); len(got) != 1 || got[0].Text != "4" {
		t.Fatalf("%+v", got)
	}
}

func TestReadLineSplitsLongLines(t *testing.T) {
	long := strings.Repeat("y", maxLineBytes*2+10)
	br := bufio.NewReaderSize(strings.NewReader(long+"\nshort\n"), 4096)
	var lens []int
	for {
		line, err := readLine(br)
		if len(line) > 0 {
			lens = append(lens, len(line))
		}
		if err != nil {
			break
		}
	}
	if len(lens) != 4 || lens[0] > maxLineBytes+4096 || lens[3] != 5 {
		t.Fatalf("line lengths %v", lens)
	}
}

// TestLogRingIsBoundedInBytes: long lines are kept within the byte budget,
// the newest first.
func TestLogRingIsBoundedInBytes(t *testing.T) {
	const budget = 64 << 10
	l := newLogRing(1000, budget)
	long := strings.Repeat("x", 16<<10)
	for i := range 100 {
		l.add(LogLine{Text: fmt.Sprint(i) + long})
	}
	got := l.last(0)
	var held int64
	for _, line := range got {
		held += lineSize(line)
	}
	if held > budget || len(got) == 0 || !strings.HasPrefix(got[len(got)-1].Text, "99") {
		t.Fatalf("%d lines, %d bytes (budget %d), newest %.3q", len(got), held, budget, got[len(got)-1].Text)
	}
}
