package registry

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// ErrNoConfig means no config file was named and the default one does not
// exist; the caller decides what that means (plugvisor runs its demo).
var ErrNoConfig = errors.New("no config file")

// Sentinels for executables that can never start as configured. Together
// with fs.ErrNotExist and *ChecksumError they are the permanent failures: a
// retry cannot succeed until an operator changes the file or the config.
var (
	ErrNotRegular     = errors.New("not a regular file")
	ErrNotExecutable  = errors.New("not executable")
	ErrBadInterpreter = errors.New("bad script interpreter")
	ErrBadChecksum    = errors.New("malformed sha256")
	// ErrUntrustedInterpreter is a script whose interpreter, or a link or
	// directory on the way to it, someone other than root or the
	// supervisor's user could change.
	ErrUntrustedInterpreter = errors.New("untrusted interpreter")
)

// Pos is a place in a config file. Line 0 means the file as a whole.
type Pos struct {
	File string
	Line int
	Col  int // only set for TOML syntax errors
}

func (p Pos) String() string {
	if p.Col > 0 {
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Error is one problem in a configuration, tied to where it was written.
type Error struct {
	Pos Pos
	Key string // dotted TOML key, e.g. plugins.echo.restart; empty for syntax errors
	Msg string
}

func (e *Error) Error() string {
	if e.Key == "" {
		return e.Pos.String() + ": " + e.Msg
	}
	return e.Pos.String() + ": " + e.Key + ": " + e.Msg
}

// Errors is every problem found in one load, in file and line order, so an
// operator fixes them all in one pass instead of one per restart.
type Errors []*Error

func (es *Errors) Error() string {
	lines := make([]string, len(*es))
	for i, e := range *es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es *Errors) Unwrap() []error {
	out := make([]error, len(*es))
	for i, e := range *es {
		out[i] = e
	}
	return out
}

func (es *Errors) add(pos Pos, key, format string, args ...any) {
	*es = append(*es, &Error{Pos: pos, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// sortBy orders the errors by file (in the order given), line and key.
func (es Errors) sortBy(files []string) {
	rank := func(f string) int {
		if i := slices.Index(files, f); i >= 0 {
			return i
		}
		return len(files)
	}
	slices.SortStableFunc(es, func(a, b *Error) int {
		if c := cmp.Compare(rank(a.Pos.File), rank(b.Pos.File)); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Pos.Line, b.Pos.Line); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
}

// ChecksumError reports an executable whose content is not the configured one.
type ChecksumError struct {
	Path, Want, Got string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("checksum mismatch for %s: expected %s, actual %s", e.Path, e.Want, e.Got)
}

// IsPermanent reports whether err from Verify means the executable cannot
// start until someone changes the file or the config, so retrying is useless.
func IsPermanent(err error) bool {
	var ce *ChecksumError
	return errors.As(err, &ce) ||
		errors.Is(err, fs.ErrNotExist) ||
		errors.Is(err, fs.ErrPermission) ||
		errors.Is(err, ErrNotRegular) ||
		errors.Is(err, ErrNotExecutable) ||
		errors.Is(err, ErrBadInterpreter) ||
		errors.Is(err, ErrUntrustedInterpreter) ||
		errors.Is(err, ErrBadChecksum) ||
		isSignatureRefusal(err)
}

func isSignatureRefusal(err error) bool {
	for _, e := range []error{ErrUnsigned, ErrBadSignature, ErrUntrustedKey, ErrRevokedKey, ErrRevokedDigest,
		ErrWrongPlugin, ErrWrongVersion, ErrKeyNotValid, ErrDowngrade, ErrVersionRecord} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
