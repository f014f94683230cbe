package private

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDir(t *testing.T) {
	base := filepath.Join(t.TempDir(), "p")
	if err := Dir(filepath.Join(base, "a", "b"), "dir", Closed); err != nil {
		t.Fatalf("a new dir: %v", err)
	}
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := Dir(open, "dir", Passage); err != nil {
		t.Errorf("0711 refused where passage is allowed: %v", err)
	}
	if err := Dir(open, "dir", Closed); err == nil {
		t.Error("0711 accepted where the dir must be closed")
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(filepath.Join(base, "a"), link); err != nil {
		t.Fatal(err)
	}
	if err := Dir(link, "dir", Closed); err == nil {
		t.Error("a symlink accepted")
	}
}

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	if _, err := Create(path); err == nil {
		t.Error("an existing file replaced")
	}
	if err := os.Symlink(filepath.Join(dir, "target"), filepath.Join(dir, "l")); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(filepath.Join(dir, "l")); err == nil {
		t.Error("written through a symlink")
	}
}

// Replace swaps the whole content in, with the mode asked whatever the
// umask, and replaces a symlink at the path instead of writing through it.
func TestReplace(t *testing.T) {
	dir := t.TempDir()
	path, victim := filepath.Join(dir, "f"), filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	if err := Replace(path, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
		t.Fatalf("replaced: %v %v", fi, err)
	}
	if data, _ := os.ReadFile(path); string(data) != "new" {
		t.Errorf("content %q", data)
	}
	if data, _ := os.ReadFile(victim); string(data) != "keep" {
		t.Errorf("written through the symlink: %q", data)
	}
	if err := Replace(filepath.Join(dir, "missing", "f"), []byte("x"), 0o600); err == nil {
		t.Error("a file in a missing directory was written")
	}
}
