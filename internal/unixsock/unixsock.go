// Package unixsock creates Unix sockets that only their owner can reach and reads the kernel's credentials of a peer.
package unixsock

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// MaxPath is sun_path's size on Linux less the terminating NUL.
const MaxPath = 107

// Listen creates a Unix socket at path that only this user can reach:
// the directory is 0700 and the socket 0600. A stale socket left by a killed
// supervisor is removed; a live one (something answers) is an error, because
// two supervisors on one socket would steal each other's plugins.
func Listen(path string) (*net.UnixListener, error) {
	if len(path) > MaxPath {
		return nil, fmt.Errorf("socket path %s is %d bytes; Linux allows at most %d", path, len(path), MaxPath)
	}
	if err := privateDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	l.SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("socket mode: %w", err)
	}
	return l, nil
}

func removeStale(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("socket %s: %w", path, err)
	}
	if st.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("socket %s: exists and is not a socket; refusing to remove it", path)
	}
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		c.Close()
		return fmt.Errorf("socket %s: another process is listening on it", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	return nil
}

// PeerCred returns the kernel's record of who connected: pid, uid and gid as
// of connect(). Nothing the peer sends can forge it.
func PeerCred(c *net.UnixConn) (*unix.Ucred, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *unix.Ucred
	var credErr error
	err = raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err != nil {
		return nil, err
	}
	return cred, credErr
}

// privateDir makes dir (0700) if it does not exist. An existing directory is
// never changed — chmod on a shared one such as /tmp or /run would break the
// machine for everyone — but it must be this user's, not a symlink, and
// closed to group and others, or the socket's own mode would be all that
// stands between other users and the supervisor. Passage alone (0711) is
// allowed: plugins run as other users reach their own sockets that way, and
// it lets no one list, create or remove.
func privateDir(dir string) error {
	st, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("socket dir: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("socket dir: %w", err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	switch {
	case !st.IsDir():
		return fmt.Errorf("socket dir %s is not a directory (a symlink is refused too)", dir)
	case !ok || int(sys.Uid) != os.Getuid():
		return fmt.Errorf("socket dir %s belongs to uid %d, not to this user (uid %d)", dir, sys.Uid, os.Getuid())
	case st.Mode().Perm()&0o066 != 0:
		return fmt.Errorf("socket dir %s has mode %04o; it must be closed to group and others (chmod 700 %s; 711 lets them pass, not look), or put the socket in a directory of its own", dir, st.Mode().Perm(), dir)
	}
	return nil
}
