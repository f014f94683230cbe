package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/plugvisor/plugvisor/internal/schedstat"
)

// selfCPU is this process's user+system time, every thread it ever had
// included.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pidCPU is the CPU time of pid's threads, in nanoseconds from each
// thread's schedstat.
func pidCPU(pid int) (time.Duration, error) {
	st, err := schedstat.Of(pid)
	return st.CPU, err
}

// pidsCPU sums pidCPU over pids.
func pidsCPU(pids []int) (time.Duration, error) {
	var sum time.Duration
	for _, p := range pids {
		d, err := pidCPU(p)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

// threads is the Threads: line of /proc/<pid>/status ("self" for this
// process).
func threads(pid string) (int, error) {
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, fmt.Errorf("threads: %w", err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("threads: no Threads line for %s", pid)
}
