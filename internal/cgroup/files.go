package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// writeFile writes value in one write(2): cgroup files act on each write,
// and a short or split write would be a different command.
func writeFile(dir, name, value string) error {
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fileErr("open", path, err)
	}
	defer f.Close()
	if _, err := f.WriteString(value); err != nil {
		return fileErr(fmt.Sprintf("write %q to", value), path, err)
	}
	return nil
}

// fileErr names the file once: os errors already carry the path, and
// "cgroup: write "1" to /x/cgroup.kill: open /x/cgroup.kill: …" says it twice.
func fileErr(op, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("cgroup: %s %s: %w", op, path, err)
}

func readFile(dir, name string) (string, error) {
	path := filepath.Join(dir, name)
	b, err := readSmall(path)
	if err != nil {
		return "", fileErr("read", path, err)
	}
	return string(b), nil
}

// readSmall reads a kernel file with open, read and close alone: the
// supervisor reads a few of these per plugin every second, and os.ReadFile
// adds an fstat, an fcntl and an epoll registration attempt to each.
func readSmall(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return out, nil
		}
		if out == nil && n < len(buf) {
			return buf[:n], nil // a small file comes whole in one read
		}
		out = append(out, buf[:n]...)
	}
}

func readInt(dir, name string) (int64, error) {
	s, err := readFile(dir, name)
	if err != nil {
		return 0, err
	}
	return parseInt(filepath.Join(dir, name), s)
}

func parseInt(path, s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "max" {
		return -1, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cgroup: %s: %w", path, err)
	}
	return n, nil
}

// readKey reads one "key value" line of a flat-keyed file (cgroup.events,
// memory.events, cpu.stat, memory.oom_control); a missing key is 0, as
// the kernel omits counters it has never had.
func readKey(dir, name, key string) (int64, error) {
	s, err := readFile(dir, name)
	if err != nil {
		return 0, err
	}
	return parseKey(filepath.Join(dir, name), s, key)
}

func parseKey(path, s, key string) (int64, error) {
	for line := range strings.Lines(s) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || k != key {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("cgroup: %s: %s: %w", path, key, err)
		}
		return n, nil
	}
	return 0, nil
}

func readPids(dir string) ([]int, error) {
	s, err := readFile(dir, "cgroup.procs")
	if err != nil {
		return nil, err
	}
	return parsePids(filepath.Join(dir, "cgroup.procs"), s)
}

func parsePids(path, s string) ([]int, error) {
	var pids []int
	for _, f := range strings.Fields(s) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("cgroup: %s: %w", path, err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}
func exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

func writable(dir string) error {
	if err := unix.Access(dir, unix.W_OK); err != nil {
		return fmt.Errorf("cgroup: %s not writable: %w", dir, err)
	}
	return nil
}

// mkdir tolerates nothing existing: a directory left by an earlier
// plugvisor with the same pid would hold its processes, not ours.
func mkdir(dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fileErr("mkdir", dir, err)
	}
	return nil
}

func rmdir(dir string) error {
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fileErr("rmdir", dir, err)
	}
	return nil
}
