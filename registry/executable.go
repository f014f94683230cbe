package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// checkExecutable reports why path cannot be run, or nil. Load uses it to
// report problems early; Verify repeats the mode check on the file it opened.
func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, statErr(err))
	}
	if err := checkMode(path, fi.Mode()); err != nil {
		return err
	}
	head, err := readHead(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, statErr(err))
	}
	_, err = scriptInterpreter(path, head, currentTrust())
	return err
}

// statErr strips the operation and path from an *fs.PathError, which the
// caller names already, and spells out "no such file".
func statErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, fs.ErrNotExist) {
		return noSuchFile{}
	}
	return err
}

// noSuchFile reads better than ENOENT's "no such file or directory" and
// still satisfies errors.Is(err, fs.ErrNotExist).
type noSuchFile struct{}

func (noSuchFile) Error() string        { return "no such file" }
func (noSuchFile) Is(target error) bool { return target == fs.ErrNotExist }

// checkMode refuses anything but a regular file with an execute bit. The
// supervisor runs a sealed copy whose own mode is always executable, so the
// file's mode is the only place the operator's chmod -x is honoured.
func checkMode(path string, mode fs.FileMode) error {
	if !mode.IsRegular() {
		return fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, kind(mode))
	}
	if mode.Perm()&0o111 == 0 {
		return fmt.Errorf("%s: %w (mode %s)", path, ErrNotExecutable, mode.Perm())
	}
	return nil
}

func kind(mode fs.FileMode) string {
	switch {
	case mode.IsDir():
		return "a directory"
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeDevice != 0:
		return "a device"
	}
	return "type " + mode.Type().String()
}

func readHead(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, shebangMax)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:n], nil
}

// interpreter is how a "#!" script runs: the program, and the arguments
// it gets before the script's path.
type interpreter struct {
	path string
	args []string
}

// scriptInterpreter returns how to run a "#!" file, and a zero interpreter
// for any other. plugvisor resolves the interpreter itself and the
// supervisor runs it directly: left to the kernel, a relative interpreter
// would be found from the plugin's working directory and env's NAME in
// $PATH, so what runs would depend on where and by whom it was started.
// The interpreter runs whatever the script says, so it is part of the trust
// base and must pass r.
func scriptInterpreter(path string, head []byte, r trustRule) (interpreter, error) {
	name, arg, ok, err := parseShebang(head)
	switch {
	case !ok:
		return interpreter{}, nil
	case err != nil:
		return interpreter{}, fmt.Errorf("%s: %w: %v", path, ErrBadInterpreter, err)
	case !filepath.IsAbs(name):
		return interpreter{}, fmt.Errorf("%s: %w: %q is not an absolute path", path, ErrBadInterpreter, name)
	}
	run := interpreter{path: name, args: arg}
	if filepath.Base(name) == "env" {
		if run, err = envCommand(arg); err != nil {
			return interpreter{}, fmt.Errorf("%s: %w: %v", path, ErrBadInterpreter, err)
		}
	}
	if err := r.interpreter(run.path); err != nil {
		return interpreter{}, fmt.Errorf("%s: %w", path, err)
	}
	return run, nil
}

// interpreter checks that interp, every link to it and every directory on
// the way may be trusted to run a script.
func (r trustRule) interpreter(interp string) error {
	real, fi, err := r.resolve(interp)
	var d *distrust
	switch {
	case errors.As(err, &d):
		return r.untrusted(d)
	case err != nil:
		return fmt.Errorf("%w: %s", ErrBadInterpreter, resolveProblem(interp, err))
	}
	if err := checkMode(real, fi.Mode()); err != nil {
		return fmt.Errorf("%w: %v", ErrBadInterpreter, err)
	}
	if err := r.file(real, fi); err != nil {
		return r.untrusted(err.(*distrust))
	}
	if isScript(real) {
		return fmt.Errorf("%w: %s is itself a #! script, whose own interpreter the kernel would pick unchecked; name that one in the #! line instead", ErrBadInterpreter, real)
	}
	return nil
}

func (r trustRule) untrusted(d *distrust) error {
	rule := fmt.Sprintf("an interpreter must be owned by %s and writable by no one else", r.owners())
	if d.inDir {
		rule += ", and so must every directory on the way to it"
	}
	return fmt.Errorf("%w: %s; %s", ErrUntrustedInterpreter, d.msg, rule)
}

// resolveProblem names interp and, when a link led elsewhere, the place
// that did not resolve.
func resolveProblem(interp string, err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path != interp && !strings.HasPrefix(interp, pe.Path+"/") {
		return fmt.Sprintf("%s: %v (at %s)", interp, statErr(err), pe.Path)
	}
	return fmt.Sprintf("%s: %v", interp, statErr(err))
}

// isScript reports whether the file at path starts with "#!"; one it
// cannot read cannot be run as a script either.
func isScript(path string) bool {
	head, err := readHead(path)
	return err == nil && bytes.HasPrefix(head, []byte("#!"))
}

// FileSHA256 is the hex sha256 of the file at path, as a plugin's sha256
// key gives it.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
