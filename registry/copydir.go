package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// The files of a Verifier made by NewVerifierIn: scripts' copies, kept as
// real files because an interpreter may open its script by its real path.
// Every step below works on descriptors of directories the Verifier
// checked, never on a path looked up again, so nobody can slip another
// file in between.

const (
	// copyDirMode lets a plugin of another user reach a copy it is given,
	// but not list the dir or change anything in it.
	copyDirMode = 0o711
	// copyFileMode lets any user read and run a copy, and no one write it.
	copyFileMode = 0o555
)

// copyName is the name a script's copy gets: its configured base name,
// which some interpreters read meaning into.
func copyName(path string) string {
	name := filepath.Base(path)
	if name == "." || name == ".." || name == "/" {
		return "script" // not reachable for a regular file; never a path
	}
	return name
}

// fileCopy writes mem, a sealed memfd whose content hashed to the sum that
// key starts with, to <dir>/<key>, or reuses the file a previous run left
// there after checking it; v.mu must be held. The copy returned holds an
// O_RDONLY descriptor of the file.
//
// Its errors are the deployment's, not the plugin's, so they are not
// wrapped: IsPermanent must not take a missing or unwritable dir for a
// missing executable, and the next start tries again.
func (v *Verifier) fileCopy(mem *sealedCopy, key string) (*sealedCopy, error) {
	root, err := v.copyRoot()
	if err != nil {
		return nil, err
	}
	sum, name := filepath.Dir(key), filepath.Base(key)
	sub, err := contentDir(root, sum, v.trust.euid)
	if err != nil {
		return nil, fmt.Errorf("script copy dir %s: %v", v.dir, err)
	}
	defer sub.Close()
	f, err := placeCopy(sub, name, mem, sum, v.trust.euid)
	if err != nil {
		return nil, fmt.Errorf("script copy %s: %v", filepath.Join(v.dir, key), err)
	}
	return &sealedCopy{file: f, size: mem.size, head: mem.head, name: key}, nil
}

// copyRoot opens the dir at its first use; v.mu must be held. A failure is
// not remembered: the operator may fix the dir before the next start.
func (v *Verifier) copyRoot() (*os.File, error) {
	if v.root != nil {
		return v.root, nil
	}
	root, err := openCopyDir(v.dir, v.trust)
	if err != nil {
		return nil, fmt.Errorf("script copy dir %s: %v", v.dir, err)
	}
	v.root = root
	return root, nil
}

// openCopyDir opens dir, making it if missing, checks nobody but the
// supervisor's user can change what is in it, and locks it against another
// Verifier, whose removals would pull copies from under this one.
func openCopyDir(dir string, r trustRule) (*os.File, error) {
	if !filepath.IsAbs(dir) {
		return nil, errors.New("must be an absolute path")
	}
	if err := os.Mkdir(dir, copyDirMode); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("make it: %w", statErr(err))
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, statErr(err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, errors.New("is a symbolic link; name the directory it points to")
	}
	var d *distrust
	if _, _, err := r.resolve(dir); errors.As(err, &d) {
		return nil, fmt.Errorf("%v; scripts run from copies here, so every directory above it must be owned by %s and writable by no one else", d, r.owners())
	} else if err != nil {
		return nil, statErr(err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	f := os.NewFile(uintptr(fd), dir)
	if err := checkCopyDir(f, fi, r.euid); err != nil {
		f.Close()
		return nil, err
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, errors.New("is in use by another Verifier (one per directory: each removes its copies when done)")
		}
		return nil, fmt.Errorf("lock: %w", err)
	}
	return f, nil
}

// checkCopyDir checks the opened dir is the one looked at, is the
// supervisor's user's and is writable by no one else, and gives it mode
// 0711: the user may have made it 0700, which would shut out plugins of
// other users.
func checkCopyDir(f *os.File, looked fs.FileInfo, euid int) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !os.SameFile(fi, looked) {
		return errors.New("was replaced while being opened")
	}
	if uid := owner(fi); int64(uid) != int64(euid) {
		return fmt.Errorf("is owned by uid %d, not by the supervisor's uid %d, which must be the only one able to change the copies in it", uid, euid)
	}
	if w := writers(fi.Mode()); w != "" {
		return fmt.Errorf("is writable by %s (mode %s), who could replace the copies scripts run from", w, fi.Mode())
	}
	if fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != copyDirMode {
		return f.Chmod(copyDirMode)
	}
	return nil
}

// contentDir opens <root>/<sum>, making it if missing. Only the
// supervisor's user (or root) can write in root, so anything already there
// under that name is a leftover of theirs: a directory is checked and used,
// anything else removed.
func contentDir(root *os.File, sum string, euid int) (*os.File, error) {
	rootFD := int(root.Fd())
	for attempt := 0; ; attempt++ {
		if err := unix.Mkdirat(rootFD, sum, copyDirMode); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("make %s: %w", sum, err)
		}
		fd, err := unix.Openat(rootFD, sum, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if attempt == 0 && (errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR)) {
			if err := unix.Unlinkat(rootFD, sum, 0); err != nil {
				return nil, fmt.Errorf("remove leftover %s: %w", sum, err)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", sum, err)
		}
		f := os.NewFile(uintptr(fd), sum)
		fi, err := f.Stat()
		if err == nil {
			err = checkCopyDir(f, fi, euid)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", sum, err)
		}
		return f, nil
	}
}

// placeCopy returns a read-only descriptor of dir/name holding exactly
// mem's content: a leftover that already does, or a file written anew.
func placeCopy(dir *os.File, name string, mem *sealedCopy, sum string, euid int) (*os.File, error) {
	dirFD := int(dir.Fd())
	if f := reuseCopy(dirFD, name, mem.size, sum, euid); f != nil {
		return f, nil
	}
	if err := removeEntry(dirFD, name); err != nil {
		return nil, fmt.Errorf("remove leftover: %w", err)
	}
	// Made unreadable to others until it is complete; fillCopy sets 0555.
	fd, err := unix.Openat(dirFD, name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o400)
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	w := os.NewFile(uintptr(fd), name)
	defer w.Close()
	f, err := fillCopy(w, mem, sum)
	if err != nil {
		_ = unix.Unlinkat(dirFD, name, 0) // half a copy must not be taken for a leftover
		return nil, err
	}
	return f, nil
}

// fillCopy writes the sealed content to w, hashing it again on the way so
// the file is known to hold exactly the bytes hashed, makes it 0555 and
// returns it reopened read-only through /proc/self/fd: a new descriptor of
// the very file written, with no path looked up again.
func fillCopy(w *os.File, mem *sealedCopy, sum string) (*os.File, error) {
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, h), io.NewSectionReader(mem.file, 0, mem.size)); err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return nil, fmt.Errorf("wrote content with sha256 %s, not %s", got, sum)
	}
	if err := w.Chmod(copyFileMode); err != nil {
		return nil, err
	}
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(int(w.Fd())), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("reopen read-only: %w", err)
	}
	return os.NewFile(uintptr(fd), w.Name()), nil
}

// reuseCopy returns the file at name if it is exactly what placeCopy would
// write: a regular file of the supervisor's user, mode 0555, with one
// link, holding content of sha256 sum; nil otherwise.
func reuseCopy(dirFD int, name string, size int64, sum string, euid int) *os.File {
	fd, err := unix.Openat(dirFD, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), name)
	var st unix.Stat_t
	ok := unix.Fstat(fd, &st) == nil &&
		st.Mode&unix.S_IFMT == unix.S_IFREG && st.Mode&0o7777 == copyFileMode &&
		int64(st.Uid) == int64(euid) && st.Nlink == 1 && st.Size == size
	if ok {
		h := sha256.New()
		_, err := io.Copy(h, f)
		ok = err == nil && hex.EncodeToString(h.Sum(nil)) == sum
	}
	if _, err := f.Seek(0, io.SeekStart); !ok || err != nil {
		f.Close()
		return nil
	}
	return f
}

// removeEntry removes name from dir, whatever it is; a directory must be
// empty. A name already gone is no error.
func removeEntry(dirFD int, name string) error {
	err := unix.Unlinkat(dirFD, name, 0)
	if errors.Is(err, unix.EISDIR) {
		err = unix.Unlinkat(dirFD, name, unix.AT_REMOVEDIR)
	}
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}

// removeCopy deletes a file copy, and its content's dir once that holds no
// other copy; name "" is a memfd, which has no file. v.mu must be held.
func (v *Verifier) removeCopy(name string) error {
	if name == "" || v.root == nil {
		return nil
	}
	rootFD := int(v.root.Fd())
	if err := removeEntry(rootFD, name); err != nil {
		return fmt.Errorf("remove script copy %s: %w", filepath.Join(v.dir, name), err)
	}
	err := unix.Unlinkat(rootFD, filepath.Dir(name), unix.AT_REMOVEDIR)
	if err != nil && !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EEXIST) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove %s: %w", filepath.Join(v.dir, filepath.Dir(name)), err)
	}
	return nil
}
