package control_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ct "github.com/plugvisor/plugvisor/control/controltest"
	"github.com/plugvisor/plugvisor/supervisor"
)

// BenchmarkTaskWakes sends b.N tasks to the real echo plugin on one path
// (the embedded API, or the control socket with its client and server in
// this process) one at a time and 64 in flight, and reports what a task
// costs each process: CPU and the times its threads were put on a CPU,
// from every thread's /proc schedstat (run time, and run count: each is a
// thread woken or preempted). It is how the task path's wake-ups were
// counted:
//
//	go test ./control -run '^$' -bench TaskWakes -benchtime 100000x
func BenchmarkTaskWakes(b *testing.B) {
	e := ct.Start(b, ct.Plugin(b, "echo", ct.Bin("echo"), ""), ct.Options{})
	e.WaitState("echo", supervisor.StateRunning)
	plugin := pluginPID(b, e.Sup, "echo")
	paths := map[string]supervisor.API{"embedded": e.Sup, "control": e.Dial()}
	for _, path := range []string{"embedded", "control"} {
		for _, inFlight := range []int{1, benchConcurrency} {
			b.Run(fmt.Sprintf("%s-%d", path, inFlight), func(b *testing.B) {
				host0, plug0 := schedstat(b, os.Getpid()), schedstat(b, plugin)
				start := time.Now()
				sendTasks(b, paths[path], b.N, inFlight)
				elapsed := time.Since(start)
				host, plug := schedstat(b, os.Getpid()).minus(host0), schedstat(b, plugin).minus(plug0)
				n := float64(b.N)
				b.ReportMetric(n/elapsed.Seconds(), "tasks/s")
				b.ReportMetric(host.cpu.Seconds()*1e6/n, "host-cpu-µs/task")
				b.ReportMetric(float64(host.runs)/n, "host-runs/task")
				b.ReportMetric(plug.cpu.Seconds()*1e6/n, "plugin-cpu-µs/task")
				b.ReportMetric(float64(plug.runs)/n, "plugin-runs/task")
			})
		}
	}
}

// sendTasks sends n echo tasks through api, inFlight at a time.
func sendTasks(b *testing.B, api supervisor.API, n, inFlight int) {
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range inFlight {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if _, err := api.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "echo", ID: 1, Content: "ping"}); err != nil {
					failed.Store(&err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
}

func pluginPID(b *testing.B, api supervisor.API, name string) int {
	st, err := api.Snapshot(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range st {
		if s.Name == name && s.PID > 0 {
			return s.PID
		}
	}
	b.Fatalf("no pid for %s in %+v", name, st)
	return 0
}

// threadStats is the sum over a process's threads of their schedstat.
type threadStats struct {
	cpu  time.Duration
	runs int64
}

func (s threadStats) minus(o threadStats) threadStats {
	return threadStats{s.cpu - o.cpu, s.runs - o.runs}
}

// schedstat sums /proc/PID/task/*/schedstat: the first field is the time
// run, the third how many times the thread was put on a CPU. A thread that
// ended between two readings takes its counts with it, so the figures are
// a floor; Go keeps its threads, so in practice none end.
func schedstat(b *testing.B, pid int) threadStats {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var sum threadStats
	for _, t := range tasks {
		data, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if err != nil {
			continue // the thread ended between the listing and the read
		}
		f := strings.Fields(string(data))
		if len(f) < 3 {
			b.Fatalf("%s/%s/schedstat: %q", dir, t.Name(), data)
		}
		ns, err1 := strconv.ParseInt(f[0], 10, 64)
		runs, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			b.Fatalf("%s/%s/schedstat: %q", dir, t.Name(), data)
		}
		sum.cpu += time.Duration(ns)
		sum.runs += runs
	}
	return sum
}
