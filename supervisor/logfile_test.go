package supervisor

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// plantedLog is a log directory the plugin controls, with a root-only file
// elsewhere that a planted link points at.
type plantedLog struct {
	dir, target string
	logs        *bytes.Buffer
	r           *rotatingFile
}

func newPlanted(t *testing.T, maxSize int64, backups int) *plantedLog {
	t.Helper()
	p := &plantedLog{dir: t.TempDir(), target: filepath.Join(t.TempDir(), "shadow"), logs: &bytes.Buffer{}}
	if err := os.WriteFile(p.target, []byte("root:secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.r = newRotating(p.dir, "p.stdout.log", maxSize, backups, slog.New(slog.NewTextHandler(p.logs, nil)))
	t.Cleanup(func() { p.r.Close() })
	return p
}

func (p *plantedLog) targetIntact(t *testing.T) {
	t.Helper()
	if data, err := os.ReadFile(p.target); err != nil || string(data) != "root:secret\n" {
		t.Fatalf("the file the link points at was changed: %q, %v", data, err)
	}
}

// TestLogFileRefusesPlantedLinks: a symlink, a hard link or a FIFO the
// plugin plants where its log file goes is refused, said once and counted;
// what it points at is never opened, written or truncated.
func TestLogFileRefusesPlantedLinks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(p *plantedLog) error
		want  string
	}{
		{"symlink", func(p *plantedLog) error { return os.Symlink(p.target, filepath.Join(p.dir, "p.stdout.log")) }, "symbolic link"},
		{"hard link", func(p *plantedLog) error { return os.Link(p.target, filepath.Join(p.dir, "p.stdout.log")) }, "single link"},
		{"fifo", func(p *plantedLog) error { return syscall.Mkfifo(filepath.Join(p.dir, "p.stdout.log"), 0o600) }, "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPlanted(t, 1<<20, 2)
			if err := tc.plant(p); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if _, err := p.r.Write([]byte("line\n")); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("write over a planted %s: %v", tc.name, err)
				}
			}
			p.targetIntact(t)
			if n := strings.Count(p.logs.String(), "not written to its log file"); n != 1 || p.r.dropped.Load() != 3 {
				t.Fatalf("reported %d times, %d dropped:\n%s", n, p.r.dropped.Load(), p.logs)
			}
			// Once the plant is gone, writing resumes and says so.
			if err := os.Remove(filepath.Join(p.dir, "p.stdout.log")); err != nil {
				t.Fatal(err)
			}
			if _, err := p.r.Write([]byte("line\n")); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(p.logs.String(), "writable again") {
				t.Fatalf("recovery not said:\n%s", p.logs)
			}
		})
	}
}

// TestLogRotationDoesNotFollowLinks: links planted at the backup names, and
// rotation with no backups (which truncates), touch only the log itself.
func TestLogRotationDoesNotFollowLinks(t *testing.T) {
	t.Run("backups", func(t *testing.T) {
		p := newPlanted(t, 10, 2)
		if _, err := p.r.Write([]byte("first....\n")); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"p.stdout.log.1", "p.stdout.log.2"} {
			if err := os.Symlink(p.target, filepath.Join(p.dir, n)); err != nil {
				t.Fatal(err)
			}
		}
		for range 3 {
			if _, err := p.r.Write([]byte("again....\n")); err != nil {
				t.Fatal(err)
			}
		}
		p.targetIntact(t)
		if fi, err := os.Lstat(filepath.Join(p.dir, "p.stdout.log.1")); err != nil || !fi.Mode().IsRegular() {
			t.Fatalf("backup 1 is %v, %v; want the rotated log in place of the link", fi.Mode(), err)
		}
	})
	t.Run("no backups", func(t *testing.T) {
		p := newPlanted(t, 10, 0)
		if _, err := p.r.Write([]byte("first....\n")); err != nil {
			t.Fatal(err)
		}
		// Swap the log for a link while it is open: the truncation must
		// hit the file that was checked, not the link's target.
		log := filepath.Join(p.dir, "p.stdout.log")
		if err := os.Remove(log); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(p.target, log); err != nil {
			t.Fatal(err)
		}
		if _, err := p.r.Write([]byte("second...\n")); err != nil {
			t.Fatal(err)
		}
		p.targetIntact(t)
	})
}

// TestReleasedLogHoldsNoDescriptor: between runs an instance's log files
// are closed; the next write opens them again and appends.
func TestReleasedLogHoldsNoDescriptor(t *testing.T) {
	p := newPlanted(t, 1<<20, 2)
	if _, err := p.r.Write([]byte("one\n")); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(p.dir, "p.stdout.log")
	if !holdsFile(t, log) {
		t.Fatal("the premise: an open log holds its file")
	}
	p.r.Release()
	if holdsFile(t, log) {
		t.Fatal("a released log still holds its file")
	}
	if _, err := p.r.Write([]byte("two\n")); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(log); string(data) != "one\ntwo\n" {
		t.Fatalf("log %q", data)
	}
}

func holdsFile(t *testing.T, path string) bool {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && target == path {
			return true
		}
	}
	return false
}
