package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plugvisor/plugvisor/internal/testutil"
)

// run executes a verified executable the way the supervisor does: the
// verified copy as fd 3, run as Command says for /proc/self/fd/3.
func run(t *testing.T, exe *Executable, args ...string) string {
	t.Helper()
	path, argv := exe.Command("/proc/self/fd/3", args)
	cmd := &exec.Cmd{Path: path, Args: argv, ExtraFiles: []*os.File{exe.File}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run %s: %v: %s", exe.Path, err, out)
	}
	return string(out)
}

func mustHash(t *testing.T, path string) string {
	t.Helper()
	sum, err := FileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func verify(t *testing.T, v *Verifier, path string) *Executable {
	t.Helper()
	exe, err := v.Verify(path, mustHash(t, path))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	t.Cleanup(func() { exe.File.Close() })
	return exe
}

func newVerifier(t *testing.T) *Verifier {
	v := NewVerifier()
	t.Cleanup(func() {
		if err := v.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return v
}

func TestVerifyRunsScript(t *testing.T) {
	path := writeScript(t, t.TempDir(), "hello", `echo "script $0 $*"`)
	exe := verify(t, newVerifier(t), path)
	if got := run(t, exe, "a", "b"); got != "script /proc/self/fd/3 a b\n" {
		t.Errorf("output %q", got)
	}
	data, _ := os.ReadFile(path)
	if exe.Interpreter != "/bin/sh" || exe.Size != int64(len(data)) || exe.Path != path || exe.SHA256 != sha256Hex(string(data)) {
		t.Errorf("exe = %+v", exe)
	}
}

func TestVerifyRunsELF(t *testing.T) {
	path := filepath.Join(t.TempDir(), "echo")
	copyFile(t, "/bin/echo", path)
	if err := os.Chmod(path, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := verify(t, newVerifier(t), path)
	if got := run(t, exe, "hello", "elf"); got != "hello elf\n" {
		t.Errorf("output %q", got)
	}
	if exe.Interpreter != "" {
		t.Errorf("interpreter %q for an ELF", exe.Interpreter)
	}
}

// The copy is sealed: nobody, not even this process, can change it.
func TestVerifiedCopyIsSealed(t *testing.T) {
	path := writeScript(t, t.TempDir(), "p", "echo original")
	exe := verify(t, newVerifier(t), path)
	got, err := unix.FcntlInt(exe.File.Fd(), unix.F_GET_SEALS, 0)
	if err != nil || got != seals {
		t.Fatalf("seals = %#x, %v; want %#x", got, err, seals)
	}
	if _, err := exe.File.WriteAt([]byte("#!/bin/sh\necho evil\n"), 0); !errors.Is(err, unix.EPERM) {
		t.Errorf("write to sealed copy: %v", err)
	}
	if err := exe.File.Truncate(0); !errors.Is(err, unix.EPERM) {
		t.Errorf("truncate sealed copy: %v", err)
	}
	content, err := io.ReadAll(io.NewSectionReader(exe.File, 0, 1<<20))
	want, _ := os.ReadFile(path)
	if err != nil || !bytes.Equal(content, want) {
		t.Errorf("copy holds %q, %v", content, err)
	}
}

// Swapping the file after Verify cannot run the new file: what runs is the
// copy of what was hashed. Verifying again sees the new inode and hashes it.
func TestVerifySwapAfterVerifyRunsVerifiedBytes(t *testing.T) {
	dir := t.TempDir()
	path := writeScript(t, dir, "p", "echo A")
	v := newVerifier(t)
	exe := verify(t, v, path)
	evil := writeScript(t, dir, "evil", "echo B")
	if err := os.Rename(evil, path); err != nil {
		t.Fatal(err)
	}
	if got := run(t, exe); got != "A\n" {
		t.Errorf("after swap the verified executable printed %q", got)
	}
	_, err := v.Verify(path, exe.SHA256)
	var ce *ChecksumError
	if !errors.As(err, &ce) || ce.Got != sha256Hex("#!/bin/sh\necho B\n") || !IsPermanent(err) {
		t.Errorf("Verify after swap: %v", err)
	}
}

func TestVerifyRewriteInPlace(t *testing.T) {
	path := writeScript(t, t.TempDir(), "p", "echo A")
	v := newVerifier(t)
	exe := verify(t, v, path)
	if err := os.WriteFile(path, []byte("#!/bin/sh\necho B\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(path, exe.SHA256)
	want := fmt.Sprintf("checksum mismatch for %s: expected %s, actual %s", path, exe.SHA256, sha256Hex("#!/bin/sh\necho B\n"))
	var ce *ChecksumError
	if !errors.As(err, &ce) || err.Error() != want || ce.Path != path || ce.Want != exe.SHA256 {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	if got := run(t, exe); got != "A\n" {
		t.Errorf("the earlier executable printed %q", got)
	}
}

// A file that has settled is not hashed again; a change of it is noticed.
func TestVerifyCachesSettledFiles(t *testing.T) {
	path := writeScript(t, t.TempDir(), "p", "echo A")
	v := newVerifier(t)
	v.racy = 10 * time.Millisecond
	testutil.WaitUntil(t, "the file to settle", 10*time.Second, func() bool { // its last change older than racy
		var st syscall.Stat_t
		if err := syscall.Stat(path, &st); err != nil {
			t.Fatal(err)
		}
		return time.Since(time.Unix(st.Ctim.Unix())) > 2*v.racy
	})
	first := verify(t, v, path)
	second := verify(t, v, path)
	if v.hashes != 1 || first.File == second.File || sameFile(t, first.File, second.File) == false {
		t.Fatalf("hashes = %d; want one hash and two descriptors of one copy", v.hashes)
	}
	if _, err := v.Verify(path, sha256Hex("other")); !strings.HasPrefix(fmt.Sprint(err), "checksum mismatch") || v.hashes != 1 {
		t.Errorf("cached mismatch: %v, hashes %d", err, v.hashes)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\necho A2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	third := verify(t, v, path)
	if v.hashes != 2 || run(t, third) != "A2\n" || run(t, first) != "A\n" {
		t.Errorf("after rewrite: hashes = %d", v.hashes)
	}
	if len(v.copies) != 1 {
		t.Errorf("%d copies cached; the superseded one should be gone", len(v.copies))
	}
}

// A file just written is hashed on every Verify, as its times cannot yet
// tell a same-size rewrite apart.
func TestVerifyRehashesRacyFiles(t *testing.T) {
	path := writeScript(t, t.TempDir(), "p", "echo A")
	v := newVerifier(t)
	verify(t, v, path)
	verify(t, v, path)
	if v.hashes != 2 {
		t.Errorf("hashes = %d, want 2", v.hashes)
	}
}

func sameFile(t *testing.T, a, b *os.File) bool {
	t.Helper()
	sa, err := a.Stat()
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return os.SameFile(sa, sb)
}

// Many paths with one content share one copy; every Executable stays usable
// after its siblings are closed and after the Verifier is closed.
func TestVerifySharesOneCopyPerContent(t *testing.T) {
	dir := t.TempDir()
	a := writeScript(t, dir, "a", "echo same")
	b := writeScript(t, dir, "b", "echo same")
	v := NewVerifier()
	ea, eb := verify(t, v, a), verify(t, v, b)
	if !sameFile(t, ea.File, eb.File) || len(v.copies) != 1 || ea.Path != a || eb.Path != b {
		t.Fatalf("copies = %d", len(v.copies))
	}
	ea.File.Close()
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if got := run(t, eb); got != "same\n" {
		t.Errorf("output %q", got)
	}
	if _, err := v.Verify(a, ea.SHA256); !errors.Is(err, ErrVerifierClosed) {
		t.Errorf("Verify after Close: %v", err)
	}
}

func TestVerifyConcurrent(t *testing.T) {
	dir := t.TempDir()
	paths := []string{writeScript(t, dir, "a", "echo x"), writeScript(t, dir, "b", "echo x"), writeScript(t, dir, "c", "echo y")}
	v := newVerifier(t)
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := range 30 {
		wg.Go(func() {
			p := paths[i%len(paths)]
			sum, _ := FileSHA256(p)
			exe, err := v.Verify(p, sum)
			if err == nil {
				err = exe.File.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if len(v.copies) != 2 || len(v.paths) != 3 {
		t.Errorf("copies %d paths %d; want 2 and 3", len(v.copies), len(v.paths))
	}
}

func TestVerifyRefuses(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	writeFile(t, plain, "#!/bin/sh\n")
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o755); err != nil {
		t.Fatal(err)
	}
	relative := filepath.Join(dir, "relative")
	writeFile(t, relative, "#!sh -e\n")
	missingInterp := filepath.Join(dir, "missing-interp")
	writeFile(t, missingInterp, "#!/no/such/interpreter\n")
	empty := filepath.Join(dir, "empty")
	writeFile(t, empty, "#!   \n")
	for _, p := range []string{relative, missingInterp, empty} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ok := writeScript(t, dir, "ok", "true")
	for _, c := range []struct {
		path, want string
		is         error
	}{
		{filepath.Join(dir, "missing"), "verify %s: no such file", fs.ErrNotExist},
		{plain, "verify %s: not executable (mode -rw-r--r--)", ErrNotExecutable},
		{dir, "verify %s: not a regular file (a directory)", ErrNotRegular},
		{fifo, "verify %s: not a regular file (a named pipe)", ErrNotRegular},
		{relative, `verify %s: bad script interpreter: "sh" is not an absolute path`, ErrBadInterpreter},
		{missingInterp, "verify %s: bad script interpreter: /no/such/interpreter: no such file", ErrBadInterpreter},
		{empty, "verify %s: bad script interpreter: the #! line names no interpreter", ErrBadInterpreter},
		{ok, `verify %s: malformed sha256: expected value "ABC" is not 64 lowercase hex digits`, ErrBadChecksum},
	} {
		// The right hash where there is one: only the refusal is under test.
		want := sha256Hex("anything")
		if c.is == ErrBadInterpreter {
			want = mustHash(t, c.path)
		}
		if c.is == ErrBadChecksum {
			want = "ABC"
		}
		_, err := NewVerifier().Verify(c.path, want)
		if !errors.Is(err, c.is) || !IsPermanent(err) || err.Error() != fmt.Sprintf(c.want, c.path) {
			t.Errorf("Verify(%s) = %v\nwant %s", filepath.Base(c.path), err, fmt.Sprintf(c.want, c.path))
		}
	}
}

// Retain drops the copies of paths no longer configured and keeps shared
// ones alive while any kept path names them; handed-out Executables run on.
func TestVerifyRetainReleasesOldPaths(t *testing.T) {
	dir := t.TempDir()
	old := writeScript(t, dir, "echo-1.0", "echo one")
	shared := writeScript(t, dir, "echo-shared", "echo one")
	next := writeScript(t, dir, "echo-1.1", "echo two")
	v := NewVerifier()
	defer v.Close()
	eOld, _ := verify(t, v, old), verify(t, v, shared)
	verify(t, v, next)
	if len(v.copies) != 2 || len(v.paths) != 3 {
		t.Fatalf("copies %d paths %d", len(v.copies), len(v.paths))
	}
	v.Retain([]string{shared, next})
	if len(v.copies) != 2 || len(v.paths) != 2 {
		t.Fatalf("after retaining the shared content: copies %d paths %d", len(v.copies), len(v.paths))
	}
	v.Retain([]string{next})
	if len(v.copies) != 1 || len(v.paths) != 1 {
		t.Fatalf("after dropping it: copies %d paths %d", len(v.copies), len(v.paths))
	}
	if got := run(t, eOld); got != "one\n" {
		t.Errorf("a handed-out copy stopped working: %q", got)
	}
}
