package ctl

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/plugvisor/plugvisor/registry"
)

// demoSocket is the socket of a running demo: the fixed one if a demo
// answers there, else the first per-process one that answers (a second
// demo console started while another held the fixed socket), else the
// fixed one, for the error to name. Without XDG_RUNTIME_DIR the directory
// is /tmp/plugvisor-<uid>, which another user can make first and fill with
// sockets: it must be ours and private, and each socket ours, before ctl
// dials it (control.Dial checks the peer's uid too).
func demoSocket(getenv func(string) string) (string, error) {
	all := registry.DemoControlSockets(getenv)
	if err := privateDir(filepath.Dir(all[0])); err != nil {
		return "", err
	}
	for _, path := range all {
		if ours(path) && answers(path) {
			return path, nil
		}
	}
	return all[0], nil
}

// privateDir is nil when dir is missing (nothing to dial there) or is a
// directory, not a symlink, of our uid that no one else may write to.
func privateDir(dir string) error {
	fi, err := os.Lstat(dir)
	switch {
	case os.IsNotExist(err):
		return nil
	case err != nil:
		return fmt.Errorf("demo socket directory: %w", err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("demo socket directory %s is a symlink; not trusting it", dir)
	case !fi.IsDir():
		return fmt.Errorf("demo socket directory %s is not a directory", dir)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("demo socket directory %s is writable by others (%v); not trusting it", dir, fi.Mode().Perm())
	}
	if uid := ownerOf(fi); uid != os.Getuid() {
		return fmt.Errorf("demo socket directory %s is owned by uid %d, not us (%d); not trusting it", dir, uid, os.Getuid())
	}
	return nil
}

// ours is whether path is a socket (not a symlink to one) of our uid.
func ours(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode()&fs.ModeSocket != 0 && ownerOf(fi) == os.Getuid()
}

func ownerOf(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

func answers(path string) bool {
	c, err := net.DialTimeout("unix", path, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
