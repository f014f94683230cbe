// Package private makes and checks the directories and files plugvisor
// keeps for one user: a socket's directory, saved logs, exports, the
// signed-version record, and replaces such files atomically. One copy
// of the rules, so the socket and the console's files cannot drift apart.
package private

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// What a directory may leave open to group and others.
const (
	// Passage lets group and others pass (0711), not list, create or
	// remove: plugins run as other users reach their own sockets that way.
	Passage fs.FileMode = 0o066
	// Closed allows nothing to group and others (0700).
	Closed fs.FileMode = 0o077
)

// Dir makes dir (0700, and missing parents) if it does not exist, then
// checks what is there, made now or found: a directory (a symlink is
// refused, not followed), this user's, with none of the bits of refuse
// set. An existing directory is never changed — chmod on a shared one such
// as /tmp would break the machine for everyone. what names it in errors.
func Dir(dir, what string, refuse fs.FileMode) error {
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	switch {
	case !st.IsDir():
		return fmt.Errorf("%s %s is not a directory (a symlink is refused too)", what, dir)
	case !ok || int(sys.Uid) != os.Getuid():
		return fmt.Errorf("%s %s belongs to uid %d, not to this user (uid %d)", what, dir, sys.Uid, os.Getuid())
	case st.Mode().Perm()&refuse != 0:
		return fmt.Errorf("%s %s has mode %04o; it must be closed to group and others (chmod 700 %s)", what, dir, st.Mode().Perm(), dir)
	}
	return nil
}

// Create makes a new file at path, 0600, for writing. It never replaces a
// file (O_EXCL) nor writes through a symbolic link planted where it is to
// go (O_NOFOLLOW).
func Create(path string) (*os.File, error) { return CreateMode(path, 0o600) }

// CreateMode is Create for a file others may read (a public key, a
// signature), with mode perm less the umask.
func CreateMode(path string, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, perm)
}

// Replace writes data to path atomically: to a new file beside it (perm,
// through Create's rules: never an existing file, never through a
// symlink), synced, renamed over path (which replaces a symlink there
// rather than following it), and the directory synced, so a crash leaves
// the old content or the new, whole, and what was written stays written.
func Replace(path string, data []byte, perm fs.FileMode) error {
	tmp := path + ".tmp"
	_ = os.Remove(tmp) // left by a crash; O_EXCL below refuses anything put back
	f, err := CreateMode(tmp, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm) // whatever the umask took
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
