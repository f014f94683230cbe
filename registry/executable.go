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
	_, err = scriptInterpreter(path, head)
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

// shebangMax is how much of a script's first line the kernel reads
// (BINPRM_BUF_SIZE).
const shebangMax = 256

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

// scriptInterpreter returns the interpreter a "#!" file names, "" for any
// other file. The interpreter must be an absolute path to an existing
// executable: the kernel would resolve a relative one against the plugin's
// working directory, so what runs would depend on where it was started.
func scriptInterpreter(path string, head []byte) (string, error) {
	line, ok := bytes.CutPrefix(head, []byte("#!"))
	if !ok {
		return "", nil
	}
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	fields := bytes.Fields(line)
	if len(fields) == 0 {
		return "", fmt.Errorf("%s: %w: the #! line names no interpreter", path, ErrBadInterpreter)
	}
	interp := string(fields[0])
	if !filepath.IsAbs(interp) {
		return "", fmt.Errorf("%s: %w: %q is not an absolute path", path, ErrBadInterpreter, interp)
	}
	fi, err := os.Stat(interp)
	if err != nil {
		return "", fmt.Errorf("%s: %w: %s: %v", path, ErrBadInterpreter, interp, statErr(err))
	}
	if err := checkMode(interp, fi.Mode()); err != nil {
		return "", fmt.Errorf("%s: %w: %v", path, ErrBadInterpreter, err)
	}
	return interp, nil
}

func hashFile(path string) (string, error) {
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
