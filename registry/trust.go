package registry

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// maxLinks bounds the symlinks followed resolving one path, as Linux's
// MAXSYMLINKS does, so a loop of links ends in an error.
const maxLinks = 40

// trustRule is osquery's rule for what may run as part of the supervisor's
// trust base: a file, and every directory and link that leads to it, must
// be owned by root or by the supervisor's own user and writable by no one
// else, since whoever can change any of them chooses what runs.
type trustRule struct {
	euid int // the supervisor's effective uid; its files are as trusted as root's
}

func currentTrust() trustRule { return trustRule{euid: os.Geteuid()} }

func (r trustRule) trusts(uid uint32) bool { return uid == 0 || int64(uid) == int64(r.euid) }

// owners names who may own a trusted file, for messages.
func (r trustRule) owners() string {
	if r.euid == 0 {
		return "root"
	}
	return fmt.Sprintf("root or uid %d (the supervisor's)", r.euid)
}

// distrust says why something on the way to a path is not safe. inDir is
// true when a directory is to blame rather than the file itself.
type distrust struct {
	msg   string
	inDir bool
}

func (d *distrust) Error() string { return d.msg }

// resolve follows path from / one component at a time, resolving every
// symlink itself rather than letting the kernel do it, so that each
// directory an entry is looked up in can be checked: only trusted users
// may be able to change what that entry names. It returns the real path of
// what path names, and its lstat. Problems of trust are *distrust; a path
// that does not resolve is an *fs.PathError naming the component that
// failed.
func (r trustRule) resolve(path string) (string, fs.FileInfo, error) {
	dir := "/"
	dirInfo, err := os.Lstat(dir)
	if err != nil {
		return "", nil, err
	}
	rest := strings.Split(path, "/")
	for links := 0; len(rest) > 0; {
		name := rest[0]
		rest = rest[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			// dir holds no links, so its parent is the lexical one, and
			// was checked on the way down.
			dir = filepath.Dir(dir)
			if dirInfo, err = os.Lstat(dir); err != nil {
				return "", nil, err
			}
			continue
		}
		entry := filepath.Join(dir, name)
		fi, err := os.Lstat(entry)
		if err != nil {
			return "", nil, err
		}
		if err := r.guards(dir, dirInfo, entry, fi); err != nil {
			return "", nil, err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			if links++; links > maxLinks {
				return "", nil, &fs.PathError{Op: "resolve", Path: path, Err: syscall.ELOOP}
			}
			target, err := os.Readlink(entry)
			if err != nil {
				return "", nil, err
			}
			if filepath.IsAbs(target) {
				dir = "/"
				if dirInfo, err = os.Lstat(dir); err != nil {
					return "", nil, err
				}
			}
			rest = append(strings.Split(target, "/"), rest...)
		case len(rest) == 0:
			return entry, fi, nil
		case fi.IsDir():
			dir, dirInfo = entry, fi
		default:
			return "", nil, &fs.PathError{Op: "resolve", Path: entry, Err: syscall.ENOTDIR}
		}
	}
	return dir, dirInfo, nil
}

// guards checks that only trusted users can replace entry in dir: dir is
// theirs and writable by no one else, or it is sticky (like /tmp) and entry
// is theirs, since then others may add entries but not rename or remove
// this one.
func (r trustRule) guards(dir string, di fs.FileInfo, entry string, ei fs.FileInfo) error {
	if uid := owner(di); !r.trusts(uid) {
		return &distrust{inDir: true, msg: fmt.Sprintf("directory %s is owned by uid %d (mode %s), who may replace %s", dir, uid, di.Mode(), entry)}
	}
	w := writers(di.Mode())
	switch {
	case w == "":
		return nil
	case di.Mode()&fs.ModeSticky == 0:
		return &distrust{inDir: true, msg: fmt.Sprintf("directory %s is writable by %s (mode %s), so others could replace %s", dir, w, di.Mode(), entry)}
	}
	if uid := owner(ei); !r.trusts(uid) {
		return &distrust{inDir: true, msg: fmt.Sprintf("directory %s is writable by %s and sticky (mode %s), but its entry %s is owned by uid %d, who may replace it",
			dir, w, di.Mode(), entry, uid)}
	}
	return nil
}

// file checks the file a trusted path ends in: its content is only as
// trustworthy as those who can write it.
func (r trustRule) file(path string, fi fs.FileInfo) error {
	if uid := owner(fi); !r.trusts(uid) {
		return &distrust{msg: fmt.Sprintf("%s is owned by uid %d (mode %s)", path, uid, fi.Mode())}
	}
	if w := writers(fi.Mode()); w != "" {
		return &distrust{msg: fmt.Sprintf("%s is writable by %s (mode %s)", path, w, fi.Mode())}
	}
	return nil
}

func owner(fi fs.FileInfo) uint32 { return fi.Sys().(*syscall.Stat_t).Uid }

// writers names who besides the owner may write, "" for no one.
func writers(mode fs.FileMode) string {
	switch mode.Perm() & 0o022 {
	case 0o020:
		return "group"
	case 0o002:
		return "others"
	case 0o022:
		return "group and others"
	}
	return ""
}
