package control_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ct "github.com/plugvisor/plugvisor/control/controltest"
	"github.com/plugvisor/plugvisor/internal/schedstat"
	"github.com/plugvisor/plugvisor/supervisor"
)

// BenchmarkTaskWakes sends b.N tasks to the real echo plugin on one path
// (the embedded API, or the control socket with its client and server in
// this process) one at a time and 64 in flight, and reports what a task
// costs each process: CPU and the times its threads were put on a CPU,
// from every thread's /proc schedstat (internal/schedstat). It is how the task path's wake-ups were
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
				host0, plug0 := schedstats(b, os.Getpid()), schedstats(b, plugin)
				start := time.Now()
				sendTasks(b, paths[path], b.N, inFlight)
				elapsed := time.Since(start)
				host, plug := schedstats(b, os.Getpid()).Minus(host0), schedstats(b, plugin).Minus(plug0)
				n := float64(b.N)
				b.ReportMetric(n/elapsed.Seconds(), "tasks/s")
				b.ReportMetric(host.CPU.Seconds()*1e6/n, "host-cpu-µs/task")
				b.ReportMetric(float64(host.Runs)/n, "host-runs/task")
				b.ReportMetric(plug.CPU.Seconds()*1e6/n, "plugin-cpu-µs/task")
				b.ReportMetric(float64(plug.Runs)/n, "plugin-runs/task")
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

func schedstats(b *testing.B, pid int) schedstat.Stats {
	st, err := schedstat.Of(pid)
	if err != nil {
		b.Fatal(err)
	}
	return st
}
