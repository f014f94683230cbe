package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// newVerifierIn is a Verifier copying scripts to dir/copies, closed with
// the test.
func newVerifierIn(t *testing.T) (*Verifier, string) {
	t.Helper()
	copies := filepath.Join(t.TempDir(), "copies")
	v := NewVerifierIn(copies)
	t.Cleanup(func() {
		if err := v.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return v, copies
}

// fdPath is where /proc says a descriptor leads.
func fdPath(t *testing.T, f *os.File) string {
	t.Helper()
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func lstat(t *testing.T, path string) (fs.FileInfo, *syscall.Stat_t) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi, fi.Sys().(*syscall.Stat_t)
}

// Node.js resolves its main script's real path and opens that, so it
// cannot run a script held in a memfd; from a Verifier's dir it runs, and
// sees the copy, not the original, as itself.
func TestNodeRunsScriptFromCopyDir(t *testing.T) {
	const node = "/usr/bin/node"
	if _, err := os.Stat(node); err != nil {
		t.Fatalf("%v: this test runs a real Node.js script; install Debian's nodejs package (apt-get install nodejs)", err)
	}
	script := writeShebang(t, t.TempDir(), "plugin.cjs", "#!"+node,
		`console.log(JSON.stringify({filename: __filename, argv: process.argv}))`)
	v, copies := newVerifierIn(t)
	exe := verify(t, v, script)
	if exe.Interpreter != node {
		t.Fatalf("interpreter %q", exe.Interpreter)
	}
	path, argv := exe.Command("/proc/self/fd/3", []string{"one", "two"})
	var stdout, stderr bytes.Buffer
	cmd := &exec.Cmd{Path: path, Args: argv, ExtraFiles: []*os.File{exe.File}, Stdout: &stdout, Stderr: &stderr}
	if err := cmd.Run(); err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var got struct {
		Filename string
		Argv     []string
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("node printed %q: %v", stdout.String(), err)
	}
	realCopies, err := filepath.EvalSymlinks(copies)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(realCopies, exe.SHA256, "plugin.cjs"); got.Filename != want {
		t.Errorf("__filename = %q, want the copy %q", got.Filename, want)
	}
	if len(got.Argv) != 4 || got.Argv[1] != "/proc/self/fd/3" || !slices.Equal(got.Argv[2:], []string{"one", "two"}) {
		t.Errorf("process.argv = %q", got.Argv)
	}
}

// A script's copy is a file of the supervisor's user, 0555 in 0711 dirs,
// holding exactly the bytes hashed; File is a read-only descriptor of it.
// Binaries in the same Verifier stay in sealed memfds.
func TestCopyFileIsReadOnlyAndHoldsTheHashedBytes(t *testing.T) {
	dir := t.TempDir()
	script := writeScript(t, dir, "run.sh", `echo "copy $0 $*"`)
	v, copies := newVerifierIn(t)
	exe := verify(t, v, script)
	file := filepath.Join(copies, exe.SHA256, "run.sh")
	fi, st := lstat(t, file)
	if fi.Mode() != 0o555 || int(st.Uid) != os.Geteuid() || st.Nlink != 1 {
		t.Errorf("copy %s: mode %v uid %d links %d; want -r-xr-xr-x, %d, 1", file, fi.Mode(), st.Uid, st.Nlink, os.Geteuid())
	}
	if sum := mustHash(t, file); sum != exe.SHA256 || sum != mustHash(t, script) {
		t.Errorf("copy hashes to %s; verified %s", sum, exe.SHA256)
	}
	for _, d := range []string{copies, filepath.Join(copies, exe.SHA256)} {
		if fi, _ := lstat(t, d); fi.Mode() != fs.ModeDir|0o711 {
			t.Errorf("%s: mode %v, want drwx--x--x", d, fi.Mode())
		}
	}
	flags, err := unix.FcntlInt(exe.File.Fd(), unix.F_GETFL, 0)
	if err != nil || flags&unix.O_ACCMODE != unix.O_RDONLY {
		t.Errorf("File flags %#x, %v; want O_RDONLY", flags, err)
	}
	if _, err := exe.File.WriteAt([]byte("x"), 0); err == nil {
		t.Error("the copy's descriptor is writable")
	}
	if got := fdPath(t, exe.File); got != file {
		t.Errorf("File leads to %q, want %q", got, file)
	}
	if got := run(t, exe, "a"); got != "copy /proc/self/fd/3 a\n" {
		t.Errorf("output %q", got)
	}

	bin := filepath.Join(dir, "echo")
	copyFile(t, "/bin/echo", bin)
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	elf := verify(t, v, bin)
	if got, err := unix.FcntlInt(elf.File.Fd(), unix.F_GET_SEALS, 0); err != nil || got != seals || !strings.HasPrefix(fdPath(t, elf.File), "/memfd:") {
		t.Errorf("binary copy at %q, seals %#x, %v; want a sealed memfd", fdPath(t, elf.File), got, err)
	}
}

// Copies are per content and name: one content under two names is two
// files in one dir, under one name one file. A copy goes when no path
// names it, its content's dir with its last copy, the rest at Close.
func TestCopyFilesAreSharedAndRemoved(t *testing.T) {
	dir := t.TempDir()
	a := writeScript(t, dir, "a", "echo same")
	b := writeScript(t, dir, "b", "echo same")
	a2 := writeScript(t, filepath.Join(dir, "other"), "a", "echo same")
	v, copies := newVerifierIn(t)
	ea, eb, ea2 := verify(t, v, a), verify(t, v, b), verify(t, v, a2)
	content := filepath.Join(copies, ea.SHA256)
	names := func() []string {
		t.Helper()
		entries, err := os.ReadDir(content)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	if got := names(); !slices.Equal(got, []string{"a", "b"}) || !sameFile(t, ea.File, ea2.File) || sameFile(t, ea.File, eb.File) {
		t.Fatalf("copies %q", got)
	}
	v.Retain([]string{a, a2})
	if got := names(); !slices.Equal(got, []string{"a"}) {
		t.Errorf("after dropping b: %q", got)
	}
	v.Retain([]string{a2})
	if got := names(); !slices.Equal(got, []string{"a"}) {
		t.Errorf("a2 still names the copy: %q", got)
	}
	v.Retain(nil)
	if got := names(); got != nil {
		t.Errorf("after dropping all: %q, and the content's dir should be gone", got)
	}
	if got := run(t, eb); got != "same\n" {
		t.Errorf("a handed-out copy stopped working: %q", got)
	}

	verify(t, v, b)
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(copies); err != nil || len(entries) != 0 {
		t.Errorf("after Close %s holds %v, %v", copies, entries, err)
	}
}

// abandon closes v's descriptors but leaves its files, as a crash would.
func abandon(v *Verifier) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, c := range v.copies {
		c.file.Close()
	}
	clear(v.copies)
	v.root.Close()
	v.root = nil
}

// A file an earlier run left is reused when it is exactly what the
// Verifier would write, and replaced otherwise.
func TestCopyDirLeftovers(t *testing.T) {
	dir := t.TempDir()
	script := writeScript(t, dir, "run.sh", "echo verified")
	sum := mustHash(t, script)
	content, _ := os.ReadFile(script)
	copies := filepath.Join(dir, "copies")
	file := filepath.Join(copies, sum, "run.sh")
	// A leftover is marked with an old mtime, which a copy written anew
	// does not have (inode numbers are no mark: tmpfs hands a freed one
	// straight out again).
	mark := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	leave := func(t *testing.T, data string, mode fs.FileMode) {
		t.Helper()
		mkdirMode(t, filepath.Dir(file), 0o711)
		os.Remove(file)
		writeFile(t, file, data)
		if err := os.Chmod(file, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(file, mark, mark); err != nil {
			t.Fatal(err)
		}
	}
	// use verifies the script with a new Verifier and reports whether it
	// kept the leftover.
	use := func(t *testing.T) (reused bool) {
		t.Helper()
		v := NewVerifierIn(copies)
		exe := verify(t, v, script)
		fi, _ := lstat(t, file)
		if got := run(t, exe); got != "verified\n" || mustHash(t, file) != sum || fi.Mode() != 0o555 {
			t.Errorf("ran %q from a copy hashing to %s, mode %v", got, mustHash(t, file), fi.Mode())
		}
		abandon(v)
		return fi.ModTime().Equal(mark)
	}
	t.Run("exact copy is reused", func(t *testing.T) {
		leave(t, string(content), 0o555)
		if !use(t) {
			t.Errorf("a good leftover was replaced")
		}
	})
	for name, c := range map[string]struct {
		data string
		mode fs.FileMode
	}{
		"other content": {"#!/bin/sh\necho evil\n", 0o555},
		"same size":     {strings.Replace(string(content), "verified", "VERIFIED", 1), 0o555},
		"writable":      {string(content), 0o755},
	} {
		t.Run(name+" is replaced", func(t *testing.T) {
			leave(t, c.data, c.mode)
			if use(t) {
				t.Errorf("a bad leftover was reused")
			}
		})
	}
	t.Run("symlink is replaced", func(t *testing.T) {
		os.Remove(file)
		if err := os.Symlink(script, file); err != nil {
			t.Fatal(err)
		}
		use(t)
		if fi, _ := lstat(t, file); !fi.Mode().IsRegular() {
			t.Errorf("copy is %v", fi.Mode())
		}
	})
	t.Run("file where a dir belongs is replaced", func(t *testing.T) {
		if err := os.RemoveAll(filepath.Dir(file)); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Dir(file), "junk")
		use(t)
	})
}

// A dir that others could change is refused, for scripts only, and not
// for good: the next Verify after a fix succeeds.
func TestCopyDirRefused(t *testing.T) {
	dir := t.TempDir()
	script := writeScript(t, dir, "run.sh", "echo hi")
	bin := filepath.Join(dir, "echo")
	copyFile(t, "/bin/echo", bin)
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	attempt := func(t *testing.T, copies string) error {
		t.Helper()
		v := NewVerifierIn(copies)
		defer v.Close()
		if exe, err := v.Verify(bin, mustHash(t, bin)); err != nil {
			t.Errorf("a binary needs no copy dir, but: %v", err)
		} else {
			exe.File.Close()
		}
		exe, err := v.Verify(script, mustHash(t, script))
		if err == nil {
			exe.File.Close()
		}
		return err
	}
	real := mkdirMode(t, filepath.Join(dir, "real"), 0o711)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	open := mkdirMode(t, filepath.Join(dir, "open"), 0o777)
	groupWritable := mkdirMode(t, filepath.Join(dir, "gw"), 0o775)
	for _, c := range []struct{ copies, want string }{
		{link, "is a symbolic link; name the directory it points to"},
		{groupWritable, "is writable by group (mode drwxrwxr-x), who could replace the copies scripts run from"},
		{filepath.Join(open, "copies"), fmt.Sprintf("directory %s is writable by group and others (mode drwxrwxrwx), so others could replace %s/copies; scripts run from copies here, so every directory above it must be owned by %s and writable by no one else",
			open, open, currentTrust().owners())},
		{filepath.Join(dir, "missing", "copies"), "make it: no such file"},
	} {
		err := attempt(t, c.copies)
		want := fmt.Sprintf("verify %s: script copy dir %s: %s", script, c.copies, c.want)
		if err == nil || err.Error() != want || IsPermanent(err) {
			t.Errorf("err = %v\nwant %s, not permanent", err, want)
		}
	}

	mkdirMode(t, groupWritable, 0o700)
	if err := attempt(t, groupWritable); err != nil {
		t.Errorf("after chmod 700: %v", err)
	}
	if fi, _ := lstat(t, groupWritable); fi.Mode().Perm() != 0o711 {
		t.Errorf("a 0700 dir was left %v; plugins of other users could not reach their copies", fi.Mode())
	}

	first := NewVerifierIn(real)
	defer first.Close()
	verify(t, first, script)
	err := attempt(t, real)
	want := fmt.Sprintf("verify %s: script copy dir %s: is in use by another Verifier (one per directory: each removes its copies when done)", script, real)
	if err == nil || err.Error() != want {
		t.Errorf("second Verifier: %v\nwant %s", err, want)
	}
}

// Verify checks the interpreter of a cached copy at every start: the
// script is fixed, its interpreter is not.
func TestVerifyChecksTheInterpreterAtEveryStart(t *testing.T) {
	dir := t.TempDir()
	interp := copyInterpreter(t, dir, "sh", 0o755)
	script := writeShebang(t, dir, "run.sh", "#!"+interp, "echo hi")
	v, _ := newVerifierIn(t)
	v.racy = 0 // so the second Verify answers from the cache
	first := verify(t, v, script)
	if err := os.Chmod(interp, 0o775); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(script, first.SHA256)
	if !errors.Is(err, ErrUntrustedInterpreter) || v.hashes != 1 {
		t.Errorf("cached Verify after chmod g+w: %v (hashes %d)", err, v.hashes)
	}
	if err := os.Chmod(interp, 0o755); err != nil {
		t.Fatal(err)
	}
	if again := verify(t, v, script); v.hashes != 1 || again.Interpreter != interp {
		t.Errorf("after chmod back: interpreter %q, hashes %d", again.Interpreter, v.hashes)
	}
}
