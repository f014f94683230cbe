package metrics

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// writeRuntime writes the Go runtime's and the process's own series under
// the names client_golang's collectors give them, so dashboards made for
// those find them: read at each scrape, from the runtime and /proc.
func writeRuntime(w *textWriter) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w.family("go_goroutines", "Number of goroutines that currently exist.", kindGauge)
	w.sample("go_goroutines", float64(runtime.NumGoroutine()))
	w.family("go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and currently in use.", kindGauge)
	w.sample("go_memstats_heap_alloc_bytes", float64(ms.HeapAlloc))
	w.family("go_memstats_sys_bytes", "Number of bytes obtained from the system.", kindGauge)
	w.sample("go_memstats_sys_bytes", float64(ms.Sys))
	w.family("go_gc_cycles_total", "Completed garbage collection cycles.", kindCounter)
	w.sample("go_gc_cycles_total", float64(ms.NumGC))

	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		w.family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", kindCounter)
		w.sample("process_cpu_seconds_total", cpu.Seconds())
	}
	if vsz, rss, ok := statm(); ok {
		w.family("process_virtual_memory_bytes", "Virtual memory size in bytes.", kindGauge)
		w.sample("process_virtual_memory_bytes", vsz)
		w.family("process_resident_memory_bytes", "Resident memory size in bytes.", kindGauge)
		w.sample("process_resident_memory_bytes", rss)
	}
	if start, ok := processStart(); ok {
		w.family("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", kindGauge)
		w.sample("process_start_time_seconds", start)
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		w.family("process_open_fds", "Number of open file descriptors.", kindGauge)
		w.sample("process_open_fds", float64(len(fds)-1)) // less the one ReadDir held
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		w.family("process_max_fds", "Maximum number of open file descriptors.", kindGauge)
		w.sample("process_max_fds", float64(lim.Cur))
	}
}

// statm is the process's virtual and resident sizes in bytes.
func statm() (vsz, rss float64, ok bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, 0, false
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, 0, false
	}
	v, err1 := strconv.ParseUint(string(f[0]), 10, 64)
	r, err2 := strconv.ParseUint(string(f[1]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	page := float64(os.Getpagesize())
	return float64(v) * page, float64(r) * page, true
}

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat's times.
const clockTicks = 100

// processStart is when the process started, in seconds since the epoch:
// its start in ticks after boot (/proc/self/stat, field 22), plus the
// boot time (/proc/stat's btime).
func processStart() (float64, bool) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// The command's name, in parentheses, may hold spaces: fields count
	// from after its last ')', where field 3 is the state.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(stat[i+1:])
	if len(f) < 20 {
		return 0, false
	}
	ticks, err := strconv.ParseUint(string(f[19]), 10, 64)
	if err != nil {
		return 0, false
	}
	sys, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	for line := range bytes.Lines(sys) {
		if rest, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			boot, err := strconv.ParseUint(string(bytes.TrimSpace(rest)), 10, 64)
			if err != nil {
				return 0, false
			}
			return float64(boot) + float64(ticks)/clockTicks, true
		}
	}
	return 0, false
}
