package cgroup

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Usage is the group's CPU time and memory in bytes, what a periodic
// sample needs and no more. Memory is the memory controller's figure where
// the group has one, else the resident sets of its members, found through
// cgroup.procs (a group of NewUnlimitedGroup on a hybrid machine): never a
// pass over the machine's processes. The files stay open between calls
// (see openFiles), so a sample costs a pread per file.
func (g *Group) Usage(page int64) (cpu time.Duration, memory int64, err error) {
	f := g.usageFiles()
	if cpu, err = g.usageCPU(f); err != nil {
		return 0, 0, err
	}
	if dir, ok := g.places["memory"]; ok {
		path := filepath.Join(dir, memoryFilesOf(g.isV2(dir)).current)
		s, err := f.read(path)
		if err != nil {
			return cpu, 0, fileErr("read", path, err)
		}
		memory, err = parseInt(path, s)
		return cpu, memory, err
	}
	if rss, ok := f.idleSince(cpu); ok {
		return cpu, rss, nil
	}
	memory, err = g.membersRSS(f, page)
	if err == nil {
		f.remember(cpu, memory)
	}
	return cpu, memory, err
}

// usageCPU is cpuStats through f.
func (g *Group) usageCPU(f *openFiles) (time.Duration, error) {
	dir, name, key, unit, ok := g.cpuSource()
	if !ok {
		return 0, nil
	}
	path := filepath.Join(dir, name)
	s, err := f.read(path)
	if err != nil {
		return 0, fileErr("read", path, err)
	}
	var n int64
	if key == "" {
		n, err = parseInt(path, s)
	} else {
		n, err = parseKey(path, s, key)
	}
	return time.Duration(n) * unit, err
}

// membersRSS sums the resident pages of the group's processes, from
// /proc/<pid>/statm; a process gone since the list was read counts nothing.
func (g *Group) membersRSS(f *openFiles, page int64) (int64, error) {
	var pids []int
	for _, dir := range g.Dirs() {
		path := filepath.Join(dir, "cgroup.procs")
		s, err := f.read(path)
		if err != nil {
			return 0, fileErr("read", path, err)
		}
		more, err := parsePids(path, s)
		if err != nil {
			return 0, err
		}
		pids = append(pids, more...)
	}
	var pages int64
	keep := make(map[string]bool, min(len(pids), maxKeptMembers))
	seen := make(map[int]bool, len(pids))
	self := os.Getpid() // listed in v1 while a thread of it forks there
	for _, pid := range pids {
		path := "/proc/" + strconv.Itoa(pid) + "/statm"
		if pid == self || seen[pid] {
			continue
		}
		seen[pid] = true
		read := f.readOnce
		if len(keep) < maxKeptMembers {
			keep[path] = true
			read = f.read
		}
		if s, err := read(path); err == nil {
			if fields := strings.Fields(s); len(fields) > 1 {
				n, _ := strconv.ParseInt(fields[1], 10, 64)
				pages += n
			}
		}
	}
	f.prune(func(path string) bool { return !strings.HasPrefix(path, "/proc/") || keep[path] })
	return pages * page, nil
}

// maxKeptMembers bounds the statm descriptors kept open per group: a group
// without a pids controller (no limits) may hold any number of processes,
// and a plugin forking thousands must not have the supervisor hold as many
// descriptors. The rest are opened, read and closed at each sample.
const maxKeptMembers = 32

func (g *Group) usageFiles() *openFiles {
	g.filesOnce.Do(func() { g.files = &openFiles{fds: map[string]int{}} })
	return g.files
}

// openFiles keeps the files a sampler reads every second open, to be read
// again with pread from offset 0: a kernel seq_file makes its contents anew
// for a read there, and the open (a path walk through kernfs or procfs) is
// most of a small read's cost. A /proc/<pid>/statm descriptor stays bound to
// its process: once that process is gone it reads an error, never another
// process's figures, and is opened again. After close, reads open and close
// each time, so a reader still holding an old run's group neither fails
// nor leaks.
type openFiles struct {
	mu     sync.Mutex
	fds    map[string]int
	buf    []byte // for every read: the contents are copied out
	closed bool
	// The members' resident memory at the last reading of it, the group's
	// CPU time then, and the samples since that reused it (see idleSince).
	lastCPU time.Duration
	lastRSS int64
	known   bool
	reused  int
}

// Reading every member's statm each sample is most of what an idle
// plugin's figures cost: a plugin that only answered heartbeats since the
// last reading reuses it. Memory grows only by faulting pages in, which
// costs CPU (a MiB of 4 KiB pages takes a tenth of a millisecond or more),
// so under rssStaleCPU of CPU the figure is off by a few MiB at most, and it
// is read afresh at least every rssMaxReuse samples whatever the CPU says
// (memory reclaimed from a sleeping plugin shows then).
const (
	rssStaleCPU = time.Millisecond
	rssMaxReuse = 9
)

// idleSince gives the members' resident memory as last read, when the
// group has used less than rssStaleCPU of CPU since and it was not reused
// too often.
func (f *openFiles) idleSince(cpu time.Duration) (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.known || cpu-f.lastCPU >= rssStaleCPU || cpu < f.lastCPU || f.reused >= rssMaxReuse {
		return 0, false
	}
	f.reused++
	return f.lastRSS, true
}

func (f *openFiles) remember(cpu time.Duration, rss int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastCPU, f.lastRSS, f.known, f.reused = cpu, rss, true, 0
}

func (f *openFiles) read(path string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		b, err := readSmall(path)
		return string(b), err
	}
	if fd, ok := f.fds[path]; ok {
		// Empty, or an error: perhaps a process gone, whose pid a new
		// one may have; a fresh open says.
		if b, err := f.pread(fd); err == nil && len(b) > 0 {
			return string(b), nil
		}
		unix.Close(fd)
		delete(f.fds, path)
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", &fs.PathError{Op: "open", Path: path, Err: err}
	}
	b, err := f.pread(fd)
	if err != nil {
		unix.Close(fd)
		return "", &fs.PathError{Op: "read", Path: path, Err: err}
	}
	f.fds[path] = fd
	return string(b), nil
}

// readOnce reads path without keeping it open, closing a descriptor kept
// for it earlier.
func (f *openFiles) readOnce(path string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fd, ok := f.fds[path]; ok {
		unix.Close(fd)
		delete(f.fds, path)
	}
	b, err := readSmall(path)
	return string(b), err
}

// prune closes the descriptors of the paths keep says no.
func (f *openFiles) prune(keep func(path string) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for path, fd := range f.fds {
		if !keep(path) {
			unix.Close(fd)
			delete(f.fds, path)
		}
	}
}

// close closes every descriptor and makes later reads open their own, in
// one hold of the lock: a read between the two would open and keep a file
// that nothing closes.
func (f *openFiles) close() {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for path, fd := range f.fds {
		unix.Close(fd)
		delete(f.fds, path)
	}
	f.closed = true
}

// pread reads fd whole from offset 0 into f.buf.
func (f *openFiles) pread(fd int) ([]byte, error) {
	if f.buf == nil {
		f.buf = make([]byte, 4096)
	}
	for off := 0; ; {
		if off == len(f.buf) {
			f.buf = append(f.buf, make([]byte, len(f.buf))...)
		}
		n, err := unix.Pread(fd, f.buf[off:], int64(off))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return f.buf[:off], nil
		}
		off += n
	}
}
