package supervisor

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// procStat is what the supervisor reads of a process in /proc/<pid>/stat.
type procStat struct {
	pid, ppid, pgrp int
	state           byte
	ticks           int64  // utime + stime, in clock ticks
	rss             int64  // pages
	start           uint64 // start time, in clock ticks since boot: with pid, names one process for good
}

// groupUsage is the CPU time and memory of one plugin: its cgroup's, or
// summed over its process group.
type groupUsage struct {
	cpu time.Duration
	rss int64 // bytes
}

// clockTicks is USER_HZ, fixed at 100 on Linux for every architecture Go supports.
const clockTicks = 100

// scanGroups reads /proc once and sums usage per process group, for the
// groups asked about. One pass serves every plugin: a supervisor with 200
// plugins must not read /proc 200 times a second. Zombies are left out
// (the SIGCHLD sweep reaps those the supervisor adopted).
func scanGroups(want map[int]bool, page int64) map[int]groupUsage {
	out := make(map[int]groupUsage, len(want))
	if len(want) == 0 {
		return out
	}
	buf := make([]byte, 0, 1024)
	for pid := range eachProcess {
		st, ok := readStat(pid, buf)
		if !ok || !want[st.pgrp] || st.state == 'Z' {
			continue
		}
		g := out[st.pgrp]
		g.cpu += time.Duration(st.ticks) * time.Second / clockTicks
		g.rss += st.rss * page
		out[st.pgrp] = g
	}
	return out
}

// eachProcess yields the pid of every process in /proc.
func eachProcess(yield func(pid int) bool) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && !yield(pid) {
			return
		}
	}
}

// readStat parses /proc/<pid>/stat. The command name is in parentheses and
// may contain spaces or parentheses itself, so fields are counted from the
// last ')'.
func readStat(pid int, buf []byte) (procStat, bool) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	n, _ := f.Read(buf[:cap(buf)])
	f.Close()
	data := buf[:n]
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 > len(data) {
		return procStat{}, false
	}
	fields := bytes.Fields(data[i+2:])
	// fields[0] is field 3 (state); field N is fields[N-3].
	if len(fields) < 22 || len(fields[0]) != 1 {
		return procStat{}, false
	}
	st := procStat{pid: pid, state: fields[0][0]}
	st.ppid, _ = strconv.Atoi(string(fields[4-3]))
	st.pgrp, _ = strconv.Atoi(string(fields[5-3]))
	ut, _ := strconv.ParseInt(string(fields[14-3]), 10, 64)
	stime, _ := strconv.ParseInt(string(fields[15-3]), 10, 64)
	st.ticks = ut + stime
	st.rss, _ = strconv.ParseInt(string(fields[24-3]), 10, 64)
	st.start, _ = strconv.ParseUint(string(fields[22-3]), 10, 64)
	return st, true
}
