// Package unixsock creates Unix sockets that only their owner can reach and reads the kernel's credentials of a peer.
package unixsock

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plugvisor/plugvisor/internal/private"
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
	// The socket's mode alone must not be all that stands between other
	// users and the supervisor: its directory is this user's and closed.
	if err := private.Dir(filepath.Dir(path), "socket dir", private.Passage); err != nil {
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

// WriteOnce makes one nonblocking write of b to c and never waits: what the
// socket cannot take at once is not written. It is how a peer that is
// refused unread is told why: a fresh connection's buffer always has room
// for a short frame, so the words arrive however late the writer runs,
// where a write deadline could expire on a loaded machine before the write
// was even tried; a peer that keeps its buffer full is not waited for.
func WriteOnce(c *net.UnixConn, b []byte) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var werr error
	if err := raw.Control(func(fd uintptr) { n, werr = unix.Write(int(fd), b) }); err != nil {
		return 0, err
	}
	if werr != nil {
		return 0, fmt.Errorf("write: %w", werr)
	}
	return n, nil
}
