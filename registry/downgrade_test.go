package registry

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCompareVersions(t *testing.T) {
	ordered := []string{"0.9", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "v1.0.1", "1.2", "1.10.0", "2"}
	for i, a := range ordered {
		for j, b := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := CompareVersions(a, b); got != want {
				t.Errorf("CompareVersions(%q, %q) = %d, want %d", a, b, got, want)
			}
		}
	}
	for _, eq := range [][2]string{{"1.2", "1.2.0"}, {"v1.2.0", "1.2.0"}, {"1.2.0+build.5", "1.2.0"}} {
		if CompareVersions(eq[0], eq[1]) != 0 {
			t.Errorf("%q and %q differ", eq[0], eq[1])
		}
	}
}

func TestVersionsRefuseDowngrade(t *testing.T) {
	dir := t.TempDir()
	v, err := OpenVersions(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := &Plugin{Name: "p", Exec: "/x/p"}
	if err := v.Record("p", "1.2.0"); err != nil {
		t.Fatal(err)
	}
	if err := v.Record("p", "1.1.0"); err != nil { // lower: kept as is
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(dir, VersionsFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("record file: %v %v", fi, err)
	}
	// A new Versions reads the record back, as after a restart.
	again, err := OpenVersions(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = again.Admit(p, &Signature{Version: "1.1.9"})
	if !errors.Is(err, ErrDowngrade) || !IsPermanent(err) ||
		!strings.Contains(err.Error(), "signed version 1.1.9 is older than version 1.2.0, the highest this host has run") {
		t.Fatalf("Admit 1.1.9: %v", err)
	}
	for _, ok := range []string{"1.2.0", "1.3.0"} {
		if err := again.Admit(p, &Signature{Version: ok}); err != nil {
			t.Errorf("Admit %s: %v", ok, err)
		}
	}
	p.AllowDowngrade = true
	if err := again.Admit(p, &Signature{Version: "0.1"}); err != nil {
		t.Errorf("allow_downgrade: %v", err)
	}
	// The record is never read through a symlink.
	target := filepath.Join(dir, "elsewhere")
	if err := os.Rename(filepath.Join(dir, VersionsFile), target); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, VersionsFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenVersions(dir); err == nil || !strings.Contains(err.Error(), "a symlink") {
		t.Errorf("symlinked record: %v", err)
	}
}

// A symlink planted where the record or its temporary file goes is
// replaced or removed, never written through.
func TestVersionsRecordIgnoresPlantedSymlinks(t *testing.T) {
	dir := t.TempDir()
	v, err := OpenVersions(dir)
	if err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(dir, "victim")
	writeFile(t, victim, "keep me\n")
	record := filepath.Join(dir, VersionsFile)
	for _, at := range []string{record, record + ".tmp"} {
		if err := os.Symlink(victim, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Record("p", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(victim); err != nil || string(data) != "keep me\n" {
		t.Fatalf("written through a symlink: %q %v", data, err)
	}
	fi, err := os.Lstat(record)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("record: %v %v", fi, err)
	}
	if _, err := os.Lstat(record + ".tmp"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temporary file left: %v", err)
	}
	again, err := OpenVersions(dir)
	if err != nil || again.Highest("p") != "1.0.0" {
		t.Errorf("read back: %q %v", again.Highest("p"), err)
	}
}

// A record that cannot be read refuses signed versions, unless the plugin
// allows downgrades, and is never overwritten; removing it forgets what
// ran, at the next Admit.
func TestVersionsBrokenRecord(t *testing.T) {
	dir := t.TempDir()
	record := filepath.Join(dir, VersionsFile)
	writeFile(t, record, `{"p": "2.0.0"`)
	v, err := OpenVersions(dir)
	if !errors.Is(err, ErrVersionRecord) {
		t.Fatalf("OpenVersions: %v", err)
	}
	p := &Plugin{Name: "p", Exec: "/x/p"}
	err = v.Admit(p, &Signature{Version: "3.0.0"})
	if !errors.Is(err, ErrVersionRecord) || !IsPermanent(err) || !strings.Contains(err.Error(), "/x/p: version record unreadable: "+record+": ") {
		t.Fatalf("Admit: %v", err)
	}
	if err := v.Admit(p, nil); err != nil {
		t.Errorf("an unsigned start: %v", err)
	}
	if err := v.Admit(&Plugin{Name: "p", AllowDowngrade: true}, &Signature{Version: "1.0.0"}); err != nil {
		t.Errorf("allow_downgrade: %v", err)
	}
	if err := v.Record("p", "3.0.0"); !errors.Is(err, ErrVersionRecord) {
		t.Errorf("Record: %v", err)
	}
	if data, _ := os.ReadFile(record); string(data) != `{"p": "2.0.0"` {
		t.Errorf("the broken record was rewritten: %q", data)
	}
	if err := os.Remove(record); err != nil {
		t.Fatal(err)
	}
	if err := v.Admit(p, &Signature{Version: "1.0.0"}); err != nil || v.Err() != nil {
		t.Errorf("after removal: %v, %v", err, v.Err())
	}
}

// A record changed behind the Versions' back (deleted, rewritten lower,
// higher, replaced by a symlink) is noticed, described and written back
// from memory, which keeps refusing the downgrade meanwhile.
func TestVersionsTampered(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, VersionsFile)
	v, err := OpenVersions(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Tampered(); err != nil {
		t.Fatalf("no record yet: %v", err)
	}
	for _, r := range [][2]string{{"p", "2.0.0"}, {"q", "1.0.0"}} {
		if err := v.Record(r[0], r[1]); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Tampered(); err != nil {
		t.Fatalf("untouched record: %v", err)
	}
	elsewhere := filepath.Join(dir, "elsewhere")
	if err := os.WriteFile(elsewhere, []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		tamper func() error
		says   string
	}{
		{"deleted", func() error { return os.Remove(file) }, "(deleted)"},
		{"lowered", func() error { return os.WriteFile(file, []byte(`{"p":"0.1","r":"9"}`), 0o600) }, "(p 2.0.0 → 0.1, q 1.0.0 removed, r 9 added)"},
		{"same versions", func() error { return os.WriteFile(file, []byte(`{"q":"1.0.0","p":"2.0.0"}`), 0o600) }, "(rewritten with the same versions)"},
		{"not JSON", func() error { return os.WriteFile(file, []byte(`{`), 0o600) }, "(no longer JSON)"},
		{"symlink", func() error { os.Remove(file); return os.Symlink(elsewhere, file) }, "(it no longer reads: " + file + ": refused: a symlink"},
	}
	for _, c := range cases {
		if err := c.tamper(); err != nil {
			t.Fatal(err)
		}
		err := v.Tampered()
		if !errors.Is(err, ErrVersionsTampered) || !strings.Contains(err.Error(), file+" was changed by something other than plugvisor "+c.says) {
			t.Errorf("%s: %v", c.name, err)
		}
		if got, _ := os.ReadFile(file); string(got) != string(want) {
			t.Errorf("%s: not written back: %q", c.name, got)
		}
		if err := v.Admit(&Plugin{Name: "p", Exec: "/x/p"}, &Signature{Version: "1.0.0"}); !errors.Is(err, ErrDowngrade) {
			t.Errorf("%s: downgrade admitted: %v", c.name, err)
		}
		if err := v.Tampered(); err != nil {
			t.Errorf("%s: written back, yet: %v", c.name, err)
		}
	}
}

// A record replaced by a named pipe that something holds open for
// writing (a plugin of plugvisor's own uid can do both) would block its
// reading for ever, and with it every signed start (the record's lock is
// held while it reads). It is refused as not a regular file instead: at
// startup the record is broken, naming it; while plugvisor runs it is
// tampering, written back from memory.
func TestVersionsRecordAPipe(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, VersionsFile)
	pipe := func() {
		t.Helper()
		os.Remove(file)
		if err := syscall.Mkfifo(file, 0o600); err != nil {
			t.Fatal(err)
		}
		// A writer that never writes: a read waits for it.
		w, err := os.OpenFile(file, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close() })
	}
	within := func(what string, f func() error) error {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- f() }()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatalf("%s blocked reading the pipe", what)
			return nil
		}
	}

	pipe()
	err := within("OpenVersions", func() error { _, err := OpenVersions(dir); return err })
	if want := file + ": not a regular file (a named pipe)"; !errors.Is(err, ErrVersionRecord) || !strings.Contains(err.Error(), want) {
		t.Errorf("a pipe at startup: %v; want %q", err, want)
	}

	os.Remove(file)
	v, err := OpenVersions(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Record("p", "2.0.0"); err != nil {
		t.Fatal(err)
	}
	pipe()
	err = within("Tampered", v.Tampered)
	if want := file + " was changed by something other than plugvisor (it no longer reads: " + file + ": not a regular file (a named pipe)); written back"; !errors.Is(err, ErrVersionsTampered) || !strings.Contains(err.Error(), want) {
		t.Errorf("a pipe while running: %v; want %q", err, want)
	}
	if fi, err := os.Lstat(file); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("not written back as a file: %v %v", fi, err)
	}
	if err := v.Admit(&Plugin{Name: "p", Exec: "/x/p"}, &Signature{Version: "1.0.0"}); !errors.Is(err, ErrDowngrade) {
		t.Errorf("downgrade admitted: %v", err)
	}
}
