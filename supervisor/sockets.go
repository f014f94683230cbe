package supervisor

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"github.com/plugvisor/plugvisor/internal/unixsock"
)

// userSockets are the plugin sockets. Plugins of the supervisor's own user
// connect to the agent's socket (0600, in a 0700 directory). A plugin run as
// another user could not reach it, and opening it to everyone would leave
// registration to the credential check alone; so each other user gets a
// socket of its own, <work>/sockets/<uid>.sock, owned by that user and
// 0600: a user reaches its own socket and no other. Registration then still
// accepts exactly the uid configured for the instance.
type userSockets struct {
	own   string // the agent's socket
	dir   string // <work>/sockets
	work  string
	serve func(*net.UnixListener) // runs the accept loop of a new socket

	mu     sync.Mutex
	byUID  map[int]string
	opened []*net.UnixListener
	closed bool
}

func newUserSockets(own, work string, serve func(*net.UnixListener)) *userSockets {
	return &userSockets{own: own, work: work, dir: filepath.Join(work, "sockets"), serve: serve, byUID: map[int]string{}}
}

// forUID is the socket a plugin running as uid connects to, made on first
// use: a reload may bring a user no plugin had before.
func (u *userSockets) forUID(uid int) (string, error) {
	if uid < 0 || uid == os.Getuid() {
		return u.own, nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if path, ok := u.byUID[uid]; ok {
		return path, nil
	}
	if u.closed {
		return "", ErrClosed
	}
	path, ln, err := u.listen(uid)
	if err != nil {
		return "", err
	}
	u.byUID[uid], u.opened = path, append(u.opened, ln)
	go u.serve(ln)
	return path, nil
}

func (u *userSockets) listen(uid int) (string, *net.UnixListener, error) {
	if err := traversable(u.work, u.dir); err != nil {
		return "", nil, err
	}
	path := filepath.Join(u.dir, strconv.Itoa(uid)+".sock")
	ln, err := unixsock.Listen(path)
	if err != nil {
		return "", nil, err
	}
	// The directory was made 0700 by Listen; others may pass through it
	// (not list it) to reach the socket that is theirs.
	if err := os.Chmod(u.dir, 0o711); err != nil {
		ln.Close()
		return "", nil, fmt.Errorf("plugin sockets dir: %w", err)
	}
	if err := os.Lchown(path, uid, -1); err != nil {
		ln.Close()
		return "", nil, fmt.Errorf("plugin socket for uid %d: %w", uid, err)
	}
	return path, ln, nil
}

// traversable opens the supervisor's own directories, from work down to
// dir, to passage (mode 0711: others may pass, not list), so that a plugin
// of another user can reach its socket and its working directory.
func traversable(work, dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("plugin dirs: %w", err)
		}
		if err := passable(d); err != nil {
			return err
		}
		if d == work || d == filepath.Dir(d) {
			return nil
		}
	}
}

// passable adds o+x and g+x to a directory of the supervisor's own; one
// that is not its own is refused rather than changed.
func passable(d string) error {
	st, err := os.Lstat(d)
	if err != nil {
		return fmt.Errorf("plugin dirs: %w", err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !st.IsDir() || !ok || int(sys.Uid) != os.Getuid() {
		return fmt.Errorf("plugin dirs: %s is not a directory of the supervisor's user", d)
	}
	if st.Mode().Perm()&0o011 == 0o011 {
		return nil
	}
	return os.Chmod(d, st.Mode().Perm()|0o011)
}

// reachable says why uid cannot reach path, by the execute bits of every
// directory above it: the work directory may sit under a home directory
// (/root is 0700) that a plugin user can never pass.
func reachable(path string, uid, gid int) error {
	for d := filepath.Dir(path); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		if !mayPass(st, uid, gid) {
			return fmt.Errorf("uid %d cannot reach %s: %s is mode %s (owner uid %d); put agent.work_dir where other users may pass, such as /var/lib/plugvisor",
				uid, path, d, st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Uid)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

func mayPass(st os.FileInfo, uid, gid int) bool {
	sys := st.Sys().(*syscall.Stat_t)
	perm := st.Mode().Perm()
	switch {
	case uid == 0:
		return true
	case int(sys.Uid) == uid:
		return perm&0o100 != 0
	case int(sys.Gid) == gid:
		return perm&0o010 != 0
	}
	return perm&0o001 != 0
}

func (u *userSockets) close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.closed = true
	var errs []error
	for _, ln := range u.opened {
		errs = append(errs, ln.Close())
	}
	return errors.Join(errs...)
}
