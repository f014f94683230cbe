package supervisor

import (
	"bytes"
	"os"
	"strconv"
)

// groupUsage is the summed CPU time and memory of one process group.
type groupUsage struct {
	ticks int64 // utime + stime, in clock ticks
	rss   int64 // pages
}

// clockTicks is USER_HZ, fixed at 100 on Linux for every architecture Go supports.
const clockTicks = 100

// scanGroups reads /proc once and sums usage per process group, for the
// groups asked about. One pass serves every plugin: a supervisor with 200
// plugins must not read /proc 200 times a second.
func scanGroups(want map[int]bool) map[int]groupUsage {
	out := make(map[int]groupUsage, len(want))
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	buf := make([]byte, 0, 1024)
	for _, e := range entries {
		name := e.Name()
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		pgrp, u, ok := readStat("/proc/"+name+"/stat", buf)
		if !ok || !want[pgrp] {
			continue
		}
		g := out[pgrp]
		g.ticks += u.ticks
		g.rss += u.rss
		out[pgrp] = g
	}
	return out
}

// readStat parses /proc/<pid>/stat. The command name is in parentheses and
// may contain spaces or parentheses itself, so fields are counted from the
// last ')'.
func readStat(path string, buf []byte) (pgrp int, u groupUsage, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, u, false
	}
	n, _ := f.Read(buf[:cap(buf)])
	f.Close()
	data := buf[:n]
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 > len(data) {
		return 0, u, false
	}
	fields := bytes.Fields(data[i+2:])
	// fields[0] is field 3 (state); field N is fields[N-3].
	if len(fields) < 22 {
		return 0, u, false
	}
	pgrp, _ = strconv.Atoi(string(fields[5-3]))
	ut, _ := strconv.ParseInt(string(fields[14-3]), 10, 64)
	st, _ := strconv.ParseInt(string(fields[15-3]), 10, 64)
	rss, _ := strconv.ParseInt(string(fields[24-3]), 10, 64)
	return pgrp, groupUsage{ticks: ut + st, rss: rss}, true
}
