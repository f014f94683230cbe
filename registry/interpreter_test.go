package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// realSh is the file /bin/sh ends at, to copy as an interpreter the test
// controls.
func realSh(t *testing.T) string {
	t.Helper()
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

// copyInterpreter copies the system shell to dir/name with mode, so its
// owner and mode are the test's.
func copyInterpreter(t *testing.T, dir, name string, mode fs.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	copyFile(t, realSh(t), path)
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeShebang writes an executable script with the given #! line.
func writeShebang(t *testing.T, dir, name, line, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	writeFile(t, path, line+"\n"+body+"\n")
	if err := os.Chmod(path, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func mkdirMode(t *testing.T, path string, mode fs.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func verifyErr(t *testing.T, script string) error {
	t.Helper()
	exe, err := newVerifier(t).Verify(script, mustHash(t, script))
	if err == nil {
		exe.File.Close()
	}
	return err
}

// wantUntrusted checks err is the refusal of an untrusted interpreter with
// exactly the message want, the rule appended.
func wantUntrusted(t *testing.T, err error, script, want string, inDir bool) {
	t.Helper()
	rule := fmt.Sprintf("an interpreter must be owned by %s and writable by no one else", currentTrust().owners())
	if inDir {
		rule += ", and so must every directory on the way to it"
	}
	full := fmt.Sprintf("verify %s: untrusted interpreter: %s; %s", script, want, rule)
	if err == nil || err.Error() != full {
		t.Errorf("err = %v\nwant %s", err, full)
	}
	if !errors.Is(err, ErrUntrustedInterpreter) || !IsPermanent(err) {
		t.Errorf("%v: not a permanent ErrUntrustedInterpreter", err)
	}
}

// A script runs as its interpreter with the verified copy as its path; a
// binary runs as the copy itself.
func TestCommandRunsScriptsThroughTheirInterpreter(t *testing.T) {
	dir := t.TempDir()
	v := newVerifier(t)
	exe := verify(t, v, writeScript(t, dir, "hello", `echo "script $0 $*"`))
	path, argv := exe.Command("/proc/self/fd/3", []string{"a", "b"})
	if path != "/bin/sh" || !reflect.DeepEqual(argv, []string{"/bin/sh", "/proc/self/fd/3", "a", "b"}) {
		t.Errorf("Command = %q %q", path, argv)
	}
	if got := run(t, exe, "a", "b"); got != "script /proc/self/fd/3 a b\n" {
		t.Errorf("output %q", got)
	}

	strict := verify(t, v, writeShebang(t, dir, "strict", "#!/bin/sh -eu", `echo "$-"`))
	path, argv = strict.Command("/proc/self/fd/3", []string{"x"})
	if path != "/bin/sh" || !reflect.DeepEqual(argv, []string{"/bin/sh", "-eu", "/proc/self/fd/3", "x"}) ||
		!reflect.DeepEqual(strict.InterpreterArgs, []string{"-eu"}) {
		t.Errorf("Command = %q %q", path, argv)
	}
	if got := run(t, strict); !strings.Contains(got, "e") || !strings.Contains(got, "u") {
		t.Errorf("the #! argument did not reach sh: $- is %q", got)
	}

	bin := filepath.Join(dir, "echo")
	copyFile(t, "/bin/echo", bin)
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	elf := verify(t, v, bin)
	path, argv = elf.Command("/proc/self/fd/3", []string{"x"})
	if path != "/proc/self/fd/3" || !reflect.DeepEqual(argv, []string{bin, "x"}) || elf.InterpreterArgs != nil {
		t.Errorf("binary Command = %q %q", path, argv)
	}
}

// "#!/usr/bin/env NAME" is resolved in TrustedPath by plugvisor, whatever
// $PATH says, and env is never run: neither /usr/bin/env nor a program that
// merely calls itself env.
func TestEnvScriptsResolveInTrustedPathAndNeverRunEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", TrustedPath)
	want, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	fakeBin := filepath.Join(dir, "fakebin")
	writeShebang(t, fakeBin, "sh", "#!/bin/sh", "echo fake sh ran")
	fakeEnv := writeShebang(t, filepath.Join(dir, "fakeenv"), "env", "#!/bin/sh", "echo env ran")
	t.Setenv("PATH", fakeBin) // what the test's children inherit, too
	v := newVerifier(t)
	for i, c := range []struct {
		line string
		args []string
	}{
		{"#!/usr/bin/env sh", nil},
		{"#!" + fakeEnv + " sh", nil},
		{"#!/usr/bin/env -S sh -u", []string{"-u"}},
	} {
		script := writeShebang(t, dir, fmt.Sprintf("s%d", i), c.line, `echo "real sh: $0 $*"`)
		exe := verify(t, v, script)
		if exe.Interpreter != want || !filepath.IsAbs(want) || !reflect.DeepEqual(exe.InterpreterArgs, c.args) {
			t.Errorf("%s: interpreter %q %q, want %q %q", c.line, exe.Interpreter, exe.InterpreterArgs, want, c.args)
		}
		path, argv := exe.Command("/proc/self/fd/3", []string{"x"})
		if path != want || argv[0] != want || hasBase(argv, "env") {
			t.Errorf("%s: Command = %q %q", c.line, path, argv)
		}
		if got := run(t, exe, "x"); got != "real sh: /proc/self/fd/3 x\n" {
			t.Errorf("%s: output %q", c.line, got)
		}
	}
}

// hasBase reports whether any of argv names a file called base.
func hasBase(argv []string, base string) bool {
	for _, a := range argv {
		if filepath.Base(a) == base {
			return true
		}
	}
	return false
}

func TestInterpreterWritableByOthersIsRefused(t *testing.T) {
	dir := t.TempDir()
	interp := copyInterpreter(t, dir, "sh", 0o775)
	script := writeShebang(t, dir, "run.sh", "#!"+interp, "echo hi")
	wantUntrusted(t, verifyErr(t, script), script, interp+" is writable by group (mode -rwxrwxr-x)", false)

	// Load reports it too, at the exec key, so plugvisor check shows it.
	cfgPath := filepath.Join(dir, "c.toml")
	_, err := Parse(cfgPath, []byte(fmt.Sprintf("[agent]\nwork_dir = \"w\"\n[plugins.p]\nexec = %q\nsha256 = %q\n", script, mustHash(t, script))))
	want := fmt.Sprintf("%s:4: plugins.p.exec: %s: untrusted interpreter: %s is writable by group (mode -rwxrwxr-x); an interpreter must be owned by %s and writable by no one else",
		cfgPath, script, interp, currentTrust().owners())
	if err == nil || err.Error() != want {
		t.Errorf("Load: %v\nwant %s", err, want)
	}

	if err := os.Chmod(interp, 0o757); err != nil {
		t.Fatal(err)
	}
	wantUntrusted(t, verifyErr(t, script), script, interp+" is writable by others (mode -rwxr-xrwx)", false)
	if err := os.Chmod(interp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := verifyErr(t, script); err != nil {
		t.Errorf("after chmod 755: %v", err)
	}
}

func TestInterpreterInWritableDirIsRefused(t *testing.T) {
	dir := t.TempDir()
	bin := mkdirMode(t, filepath.Join(dir, "bin"), 0o755)
	interp := copyInterpreter(t, bin, "sh", 0o755)
	script := writeShebang(t, dir, "run.sh", "#!"+interp, "echo hi")
	mkdirMode(t, bin, 0o775)
	wantUntrusted(t, verifyErr(t, script), script,
		fmt.Sprintf("directory %s is writable by group (mode drwxrwxr-x), so others could replace %s", bin, interp), true)
	mkdirMode(t, bin, 0o777)
	wantUntrusted(t, verifyErr(t, script), script,
		fmt.Sprintf("directory %s is writable by group and others (mode drwxrwxrwx), so others could replace %s", bin, interp), true)
	mkdirMode(t, bin, 0o755)
	if err := verifyErr(t, script); err != nil {
		t.Errorf("after chmod 755: %v", err)
	}
}

// A sticky dir writable by all, such as /tmp (which t.TempDir is under),
// protects the entries that root or the supervisor's user own: others can
// add entries but not rename or remove those.
func TestInterpreterInStickyDirIsAccepted(t *testing.T) {
	dir := t.TempDir()
	sticky := mkdirMode(t, filepath.Join(dir, "tmp"), 0o777|fs.ModeSticky)
	fi, err := os.Lstat(sticky)
	if err != nil || fi.Mode()&fs.ModeSticky == 0 || fi.Mode().Perm() != 0o777 {
		t.Fatalf("%s is %v, %v; want sticky and writable by all", sticky, fi.Mode(), err)
	}
	interp := copyInterpreter(t, sticky, "sh", 0o755)
	script := writeShebang(t, dir, "run.sh", "#!"+interp, `echo "ran $*"`)
	exe := verify(t, newVerifier(t), script)
	if exe.Interpreter != interp || run(t, exe, "ok") != "ran ok\n" {
		t.Errorf("interpreter %q", exe.Interpreter)
	}
	if tmp, err := os.Lstat(os.TempDir()); err == nil && tmp.Mode()&fs.ModeSticky != 0 {
		t.Logf("the chain also passed %s (%v)", os.TempDir(), tmp.Mode())
	}
}

// In a sticky dir, an entry someone else owns is theirs to replace. As
// root the test gives its interpreter to nobody (65534); as another user it
// cannot, and instead checks as a supervisor running as root would, to
// which the test's own files (the first in /tmp) belong to someone else.
func TestInterpreterOwnedByOtherInStickyDirIsRefused(t *testing.T) {
	dir := t.TempDir()
	sticky := mkdirMode(t, filepath.Join(dir, "tmp"), 0o777|fs.ModeSticky)
	interp := copyInterpreter(t, sticky, "sh", 0o755)
	script := writeShebang(t, dir, "run.sh", "#!"+interp, "echo hi")
	v := newVerifier(t)
	foreign := 65534
	if os.Geteuid() == 0 {
		if err := os.Lchown(interp, foreign, foreign); err != nil {
			t.Fatal(err)
		}
		t.Log("as root: the interpreter belongs to uid 65534")
	} else {
		foreign = os.Geteuid()
		v.trust = trustRule{euid: 0}
		t.Logf("as uid %d: checking as a supervisor running as root", foreign)
	}
	_, err := v.Verify(script, mustHash(t, script))
	want := fmt.Sprintf("is owned by uid %d, who may replace it; an interpreter must be owned by root and writable by no one else, and so must every directory on the way to it", foreign)
	if err == nil || !strings.Contains(err.Error(), "and sticky (mode dtrwxrwxrwx), but its entry ") ||
		!strings.HasSuffix(err.Error(), want) || !errors.Is(err, ErrUntrustedInterpreter) {
		t.Errorf("err = %v\nwant a sticky directory's entry that %s", err, want)
	}
}

// Links are followed one by one: the directory holding each link and every
// directory its target leads through are checked like any other.
func TestSymlinkedInterpreter(t *testing.T) {
	dir := t.TempDir()
	links := mkdirMode(t, filepath.Join(dir, "links"), 0o755)
	if err := os.Symlink(realSh(t), filepath.Join(links, "sh")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sh", filepath.Join(links, "relative")); err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t)
	for _, name := range []string{"sh", "relative"} {
		link := filepath.Join(links, name)
		script := writeShebang(t, dir, "via-"+name, "#!"+link, `echo "linked $*"`)
		exe := verify(t, v, script)
		if exe.Interpreter != link || run(t, exe, "ok") != "linked ok\n" {
			t.Errorf("%s: interpreter %q", name, exe.Interpreter)
		}
	}

	script := filepath.Join(dir, "via-sh")
	mkdirMode(t, links, 0o775)
	wantUntrusted(t, verifyErr(t, script), script,
		fmt.Sprintf("directory %s is writable by group (mode drwxrwxr-x), so others could replace %s/sh", links, links), true)
	mkdirMode(t, links, 0o755)

	open := mkdirMode(t, filepath.Join(dir, "open"), 0o777)
	target := copyInterpreter(t, open, "sh", 0o755)
	if err := os.Symlink(target, filepath.Join(links, "toopen")); err != nil {
		t.Fatal(err)
	}
	script = writeShebang(t, dir, "via-open", "#!"+filepath.Join(links, "toopen"), "echo hi")
	wantUntrusted(t, verifyErr(t, script), script,
		fmt.Sprintf("directory %s is writable by group and others (mode drwxrwxrwx), so others could replace %s", open, target), true)

	for name, target := range map[string]string{"loop": "loop", "dangling": "/no/such/sh"} {
		if err := os.Symlink(target, filepath.Join(links, name)); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]string{
		"loop":     "loop: too many levels of symbolic links",
		"dangling": "dangling: no such file (at /no)",
	} {
		script := writeShebang(t, dir, "via-"+name, "#!"+filepath.Join(links, name), "echo hi")
		err := verifyErr(t, script)
		full := fmt.Sprintf("verify %s: bad script interpreter: %s/%s", script, links, want)
		if err == nil || err.Error() != full || !errors.Is(err, ErrBadInterpreter) || !IsPermanent(err) {
			t.Errorf("err = %v\nwant %s", err, full)
		}
	}
}

// An interpreter that is itself a script would have the kernel pick its
// interpreter, unchecked.
func TestInterpreterThatIsAScriptIsRefused(t *testing.T) {
	dir := t.TempDir()
	wrapper := writeShebang(t, dir, "wrapper", "#!/usr/bin/env sh", "exec /bin/sh \"$@\"")
	script := writeShebang(t, dir, "run.sh", "#!"+wrapper, "echo hi")
	err := verifyErr(t, script)
	want := fmt.Sprintf("verify %s: bad script interpreter: %s is itself a #! script, whose own interpreter the kernel would pick unchecked; name that one in the #! line instead", script, wrapper)
	if err == nil || err.Error() != want || !errors.Is(err, ErrBadInterpreter) {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}
