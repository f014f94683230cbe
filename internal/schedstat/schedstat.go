// Package schedstat reads what the kernel's scheduler counted for a
// process's threads: the benchmarks' measure of a process's CPU and of how
// often its threads were woken.
package schedstat

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Stats sums a process's threads' /proc/PID/task/*/schedstat.
type Stats struct {
	CPU  time.Duration // time run, in nanoseconds: /proc/PID/stat's 10 ms ticks round an idle plugin's second down to nothing
	Runs int64         // times a thread was put on a CPU: each is a thread woken or preempted
}

// Minus is what was counted between o and s.
func (s Stats) Minus(o Stats) Stats { return Stats{s.CPU - o.CPU, s.Runs - o.Runs} }

// Of reads pid's threads. A thread that ended since is not counted, so a
// total is a floor, and a difference of two (Minus) can miss a thread that
// ended between them; Go keeps its threads, so in practice none go.
func Of(pid int) (Stats, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return Stats{}, fmt.Errorf("schedstat of pid %d: %w", pid, err)
	}
	var sum Stats
	read := 0
	for _, t := range tasks {
		data, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			continue // the thread ended between the listing and the read
		}
		if err != nil {
			return Stats{}, fmt.Errorf("schedstat of pid %d thread %s: %w", pid, t.Name(), err)
		}
		read++
		f := strings.Fields(string(data))
		if len(f) < 3 {
			return Stats{}, fmt.Errorf("schedstat of pid %d thread %s: %q has fewer than 3 fields", pid, t.Name(), data)
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return Stats{}, fmt.Errorf("schedstat of pid %d thread %s: %w", pid, t.Name(), err)
		}
		runs, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return Stats{}, fmt.Errorf("schedstat of pid %d thread %s: %w", pid, t.Name(), err)
		}
		sum.CPU += time.Duration(ns)
		sum.Runs += runs
	}
	if read == 0 {
		// Every thread gone: the process ended. Zero would read as a
		// process that did nothing.
		return Stats{}, fmt.Errorf("schedstat of pid %d: no thread left to read", pid)
	}
	return sum, nil
}
