package supervisor

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// rotatingFile appends a plugin's output to name in dir and, when it would
// pass maxSize, renames it to name.1 (shifting older backups up to
// name.<backups>) and starts afresh.
//
// The plugin may be able to write in dir, so nothing there is trusted: the
// directory and the file are opened with O_NOFOLLOW and the file relative to
// the directory (openat), a file that is not a regular file with one link is
// refused, rotation renames within the directory and never truncates by
// path. A refused or failed write is counted and said once per run of
// failures; the plugin keeps running.
//
// The file is open only while a process writes to it: Release closes it, and
// the next Write opens it again, so a stopped instance holds no descriptor.
type rotatingFile struct {
	dir, name string
	maxSize   int64
	backups   int
	log       *slog.Logger

	mu      sync.Mutex
	f       *os.File
	size    int64
	closed  bool
	failing bool // the last write failed and was reported

	dropped atomic.Uint64 // writes lost to a refused or failing file
}

func newRotating(dir, name string, maxSize int64, backups int, log *slog.Logger) *rotatingFile {
	return &rotatingFile{dir: dir, name: name, maxSize: maxSize, backups: backups, log: log}
}

// path is where the file is, for people.
func (r *rotatingFile) path() string { return filepath.Join(r.dir, r.name) }

// errNotLogFile refuses something other than a log file where one should be.
var errNotLogFile = errors.New("not a regular file with a single link")

// openDir opens dir itself without following a symlink in its last part.
func (r *rotatingFile) openDir() (int, error) {
	fd, err := unix.Open(r.dir, unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_RDONLY, 0)
	if err != nil {
		return -1, fmt.Errorf("log dir %s: %w", r.dir, err)
	}
	return fd, nil
}

func (r *rotatingFile) open() error {
	dfd, err := r.openDir()
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	// O_NONBLOCK: a FIFO planted at the name must not hang the open; it is
	// refused below like any other file that is not a regular one.
	fd, err := unix.Openat(dfd, r.name, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0o600)
	if err != nil {
		switch {
		case errors.Is(err, unix.ELOOP):
			return fmt.Errorf("refusing log %s: it is a symbolic link", r.path())
		case errors.Is(err, unix.ENXIO): // a FIFO with no reader, or a device
			return fmt.Errorf("refusing log %s: %w", r.path(), errNotLogFile)
		}
		return fmt.Errorf("open log %s: %w", r.path(), err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return fmt.Errorf("stat log %s: %w", r.path(), err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1 {
		unix.Close(fd)
		return fmt.Errorf("refusing log %s: %w (mode %#o, %d links)", r.path(), errNotLogFile, st.Mode, st.Nlink)
	}
	r.f, r.size = os.NewFile(uintptr(fd), r.path()), st.Size
	return nil
}

func (r *rotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, os.ErrClosed
	}
	n, err := r.write(p)
	switch {
	case err != nil && !r.failing:
		r.failing = true
		r.log.Warn("plugin output not written to its log file; counting what is lost until it can be", "file", r.path(), "err", err)
		fallthrough
	case err != nil:
		r.dropped.Add(1)
	case r.failing:
		r.failing = false
		r.log.Info("plugin log file writable again", "file", r.path(), "lost_writes", r.dropped.Load())
	}
	return n, err
}

func (r *rotatingFile) write(p []byte) (int, error) {
	if r.f == nil {
		if err := r.open(); err != nil {
			return 0, err
		}
	}
	if r.maxSize > 0 && r.size > 0 && r.size+int64(len(p)) > r.maxSize {
		if err := r.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

func (r *rotatingFile) rotate() error {
	if r.backups == 0 {
		// Truncate what is open, which was checked, not what the name
		// may point to by now.
		if err := r.f.Truncate(0); err != nil {
			return fmt.Errorf("rotate log %s: %w", r.path(), err)
		}
		r.size = 0
		return nil
	}
	r.f.Close()
	r.f = nil
	dfd, err := r.openDir()
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	// renameat moves names, never what a symlink points to.
	for i := r.backups; i > 0; i-- {
		src := r.name
		if i > 1 {
			src = r.name + "." + strconv.Itoa(i-1)
		}
		err := unix.Renameat(dfd, src, dfd, r.name+"."+strconv.Itoa(i))
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("rotate log %s: %w", r.path(), err)
		}
	}
	return r.open()
}

// Release closes the file until the next write.
func (r *rotatingFile) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

// Close closes the file for good.
func (r *rotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
