package supervisor_test

import (
	"context"
	"fmt"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/percentile"
	"github.com/plugvisor/plugvisor/protocol"
)

// BenchmarkSpawnRegistered measures Start (verify, fork/exec, the plugin's
// runtime start, connect, hello, welcome) of the echo plugin, next to the
// floor: spawning a minimal Go program that connects and exchanges one byte.
func BenchmarkSpawnRegistered(b *testing.B) {
	anchor := spawnAnchor(b, 50)
	h := startHarness(b, plugin(b, "echo", supervisortest.Bin("echo"), "auto_start = false"))
	settle(b, supervisortest.Bin("echo"))
	// The first start after settling hashes once more and trusts the file.
	if err := h.Sup.Start(context.Background(), "echo"); err != nil {
		b.Fatal(err)
	}
	if err := h.Sup.Stop(context.Background(), "echo"); err != nil {
		b.Fatal(err)
	}
	var ds []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := h.Sup.Start(context.Background(), "echo"); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(t0))
		b.StopTimer()
		if err := h.Sup.Stop(context.Background(), "echo"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	p50, a50 := percentile.Of(ds, 50), percentile.Of(anchor, 50)
	b.ReportMetric(float64(p50.Microseconds()), "p50_µs")
	b.ReportMetric(float64(percentile.Of(ds, 99).Microseconds()), "p99_µs")
	b.ReportMetric(float64(a50.Microseconds()), "anchor_p50_µs")
	b.ReportMetric(float64(p50)/float64(a50), "x_anchor")
}

// settle waits until path is older than the verifier's racy window and
// starts nothing: a binary built seconds ago is re-hashed on every start (its
// ctime is too fresh to trust), which installed plugins never are.
func settle(b *testing.B, path string) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		b.Fatal(err)
	}
	if age := time.Since(time.Unix(st.Ctim.Unix())); age < 3*time.Second {
		time.Sleep(3*time.Second - age)
	}
}

// spawnAnchor times n spawns of the minimal connect-and-echo program.
func spawnAnchor(b *testing.B, n int) []time.Duration {
	sock := filepath.Join(supervisortest.ShortDir(b), "a.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	var ds []time.Duration
	for range n {
		t0 := time.Now()
		cmd := exec.Command(supervisortest.Bin("anchor"))
		cmd.Env = []string{"PLUGVISOR_SOCKET=" + sock}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		c, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 1)
		c.Read(buf)
		c.Write(buf)
		ds = append(ds, time.Since(t0))
		c.Close()
		cmd.Wait()
	}
	return ds
}

// BenchmarkThroughSupervisor floods records from the chaos plugin through
// the supervisor to a subscriber, next to the same records pushed through a
// single protocol.Conn pair in this process.
func BenchmarkThroughSupervisor(b *testing.B) {
	const perIter = 200_000
	anchor := oneConnRate(b, perIter)
	h := startHarness(b, plugin(b, "chaos", supervisortest.Bin("chaos"), ""))
	h.WaitState("chaos", supervisor.StateRunning)
	events, cancel, _ := h.Sup.Subscribe(context.Background(), 1<<16)
	defer cancel()
	counted := make(chan uint64)
	stop := make(chan struct{})
	go countRecords(events, stop, counted)
	var total time.Duration
	for b.Loop() {
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, err := h.Sup.SendTask(ctx, supervisor.TaskRequest{Plugin: "chaos", ID: 3, Content: strconv.Itoa(perIter)})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(t0)
	}
	close(stop)
	got := <-counted
	rate := float64(perIter*b.N) / total.Seconds()
	b.ReportMetric(rate, "records/s")
	b.ReportMetric(anchor, "oneconn_records/s")
	b.ReportMetric(rate/anchor, "x_oneconn")
	b.ReportMetric(float64(got)/float64(perIter*b.N), "delivered_frac")
}

func countRecords(events <-chan supervisor.Event, stop <-chan struct{}, out chan<- uint64) {
	var n uint64
	for {
		select {
		case ev := <-events:
			if ev.Type == supervisor.EventRecords {
				n += uint64(len(ev.Records))
			}
		case <-stop:
			for len(events) > 0 {
				if ev := <-events; ev.Type == supervisor.EventRecords {
					n += uint64(len(ev.Records))
				}
			}
			out <- n
			return
		}
	}
}

// oneConnRate pushes n records shaped like chaos's flood records through one
// Conn pair over a Unix socket, in batches like the SDK's, and returns
// records per second.
func oneConnRate(b *testing.B, n int) float64 {
	sock := filepath.Join(supervisortest.ShortDir(b), "o.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	done := make(chan int)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- 0
			return
		}
		conn := protocol.NewConn(c, protocol.Options{})
		got := 0
		for got < n {
			m, err := conn.Recv()
			if err != nil {
				break
			}
			got += len(m.(*protocol.Data).Records)
		}
		done <- got
	}()
	c, err := net.Dial("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	conn := protocol.NewConn(c, protocol.Options{})
	defer conn.Close()
	t0 := time.Now()
	batch := make([]protocol.Record, 0, 4096)
	for i := 0; i < n; i++ {
		batch = append(batch, protocol.Record{Timestamp: time.Now().UnixNano(), Fields: map[string]string{
			"data_type": "flood", "seq": strconv.Itoa(i), "task": "0123abcd-42",
		}})
		if len(batch) == cap(batch) || i == n-1 {
			if err := conn.Send(&protocol.Data{Records: batch}); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if got := <-done; got != n {
		b.Fatalf("anchor received %d of %d", got, n)
	}
	return float64(n) / time.Since(t0).Seconds()
}

// BenchmarkIdlePlugins starts n echo instances at 1 s heartbeats, lets them
// idle, then stops them all at once, and reports the supervisor's cost: CPU
// (percent of a core, in all and per plugin), OS threads (before the
// plugins started, and added by them), memory per plugin, and stop-all time
// per plugin. Each n is measured after an anchor of 10 in the same run, on
// a supervisor of its own, so stop_x_n10 and cpu_x_n10 (per plugin, n
// against 10) show how the cost grows: 1 is linear. Run one at a time:
// -bench 'IdlePlugins/n=500' -benchtime 1x.
func BenchmarkIdlePlugins(b *testing.B) {
	for _, n := range []int{10, 100, 500} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			anchor := idleRun(b, 10)
			for b.Loop() {
				r := idleRun(b, n)
				b.ReportMetric(r.cpu, "cpu_%_of_core")
				b.ReportMetric(r.cpu/float64(n), "cpu_%/plugin")
				b.ReportMetric(r.cpu/float64(n)/(anchor.cpu/10), "cpu_x_n10")
				b.ReportMetric(float64(r.threads0), "threads_before")
				b.ReportMetric(float64(r.threads1-r.threads0), "threads_added")
				b.ReportMetric(float64(anchor.threads1-anchor.threads0), "n10_threads_added")
				b.ReportMetric(r.rssPerPlugin/1024, "KiB_rss/plugin")
				perPlugin, anchorPer := r.stop.Seconds()*1e3/float64(n), anchor.stop.Seconds()*1e3/10
				b.ReportMetric(perPlugin, "stop_ms/plugin")
				b.ReportMetric(anchorPer, "n10_stop_ms/plugin")
				b.ReportMetric(perPlugin/anchorPer, "stop_x_n10")
			}
		})
	}
}

// idleCost is what one idleRun measured.
type idleCost struct {
	cpu                float64 // percent of a core while idle
	threads0, threads1 int     // OS threads before the start and while idle
	rssPerPlugin       float64 // bytes
	stop               time.Duration
}

// idleRun starts n echo instances (plugins of up to 50 instances) on a
// supervisor of their own, one plugin after another, measures it while
// they idle, stops them all concurrently and then the supervisor.
func idleRun(b *testing.B, n int) idleCost {
	const perPlugin = 50
	var cfg strings.Builder
	var names []string
	for left := n; left > 0; left -= perPlugin {
		name := fmt.Sprintf("echo%d", len(names))
		names = append(names, name)
		cfg.WriteString(plugin(b, name, supervisortest.Bin("echo"), fmt.Sprintf("instances = %d\nauto_start = false\nstart_timeout = \"60s\"", min(left, perPlugin))))
	}
	h := startHarness(b, cfg.String(), func(o *supervisor.Options) {
		o.Config.Agent.HeartbeatInterval = time.Second
		o.Config.Agent.HeartbeatTimeout = 10 * time.Second
	})
	defer h.Stop()
	var c idleCost
	runtime.GC()
	rss0 := selfRSS(b)
	c.threads0 = selfThreads(b)
	for _, name := range names { // a plugin's instances start at once
		if err := h.Sup.Start(context.Background(), name); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(2 * time.Second) // let start-up garbage settle
	runtime.GC()
	c.rssPerPlugin = float64(selfRSS(b)-rss0) / float64(n)
	cpu0, wall0 := selfCPU(), time.Now()
	time.Sleep(5 * time.Second)
	c.cpu = (selfCPU() - cpu0).Seconds() / time.Since(wall0).Seconds() * 100
	c.threads1 = selfThreads(b)
	running := 0
	for _, st := range h.Snapshot() {
		if st.State == supervisor.StateRunning {
			running++
		}
	}
	if running != n {
		b.Fatalf("%d of %d running", running, n)
	}
	t0 := time.Now()
	stopAll(b, names, h.Sup.Stop)
	c.stop = time.Since(t0)
	return c
}

// stopAll stops every plugin at once and waits for all.
func stopAll(b *testing.B, names []string, stop func(context.Context, string) error) {
	errs := make(chan error, len(names))
	for _, name := range names {
		go func() { errs <- stop(context.Background(), name) }()
	}
	for range names {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
}

// selfThreads is the process's OS thread count.
func selfThreads(b testing.TB) int {
	n, _ := strconv.Atoi(statusField(b, "Threads:"))
	return n
}

func statusField(b testing.TB, key string) string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == key {
			return f[1]
		}
	}
	b.Fatalf("no %s in /proc/self/status", key)
	return ""
}

func selfRSS(b *testing.B) int64 {
	kb, _ := strconv.ParseInt(statusField(b, "VmRSS:"), 10, 64)
	return kb * 1024
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSpawnContained is BenchmarkSpawnRegistered three ways in one
// run, interleaved so that the machine's weather falls on all alike: with
// process groups only (no cgroup), with a cgroup and limits (born in it:
// cgroup2 by clone-into, v1 by the forking thread), and with the cgroup and
// a Landlock sandbox on a thread of its own. x_bare is each against the
// first.
func BenchmarkSpawnContained(b *testing.B) {
	echo := supervisortest.Bin("echo")
	const limits = "memory_max = \"256MiB\"\npids_max = 64\ncpu_max = \"100%\"\nauto_start = false"
	ways := []way{
		{"bare", startHarness(b, plugin(b, "echo", echo, "auto_start = false"), func(o *supervisor.Options) { o.NoCgroups = true })},
		{"cgroup", startHarness(b, plugin(b, "echo", echo, limits))},
		// A sandboxed plugin needs a user of its own, who must pass
		// through the harness's directory to its socket.
		{"cgroup+sandbox", startHarness(b, plugin(b, "echo", echo, limits+"\nuser = \"nobody\"\n[plugins.echo.sandbox]\n"))},
	}
	if err := os.Chmod(ways[2].h.Dir, 0o711); err != nil {
		b.Fatal(err)
	}
	settle(b, echo)
	for _, w := range ways {
		w.startStop(b, "echo") // the first start after settling hashes once more
	}
	reportStarts(b, ways, interleave(b, ways, "echo"), "bare")
}

// way is one supervisor that a benchmark compares with others.
type way struct {
	name string
	h    *harness
}

// startStop starts plugin under w and stops it, and returns how long the
// start took (to registered).
func (w way) startStop(b *testing.B, plugin string) time.Duration {
	t0 := time.Now()
	if err := w.h.Sup.Start(context.Background(), plugin); err != nil {
		b.Fatalf("%s: %v", w.name, err)
	}
	d := time.Since(t0)
	if err := w.h.Sup.Stop(context.Background(), plugin); err != nil {
		b.Fatalf("%s: %v", w.name, err)
	}
	return d
}

// interleave starts and stops plugin under each way in turn, once per
// benchmark iteration, so that the machine's weather falls on all alike,
// and returns each way's start times.
func interleave(b *testing.B, ways []way, plugin string) [][]time.Duration {
	ds := make([][]time.Duration, len(ways))
	for b.Loop() {
		for i, w := range ways {
			ds[i] = append(ds[i], w.startStop(b, plugin))
		}
	}
	return ds
}

// reportStarts reports each way's p50 start and, after the first, its
// ratio to the first's as <name>_x_<first>.
func reportStarts(b *testing.B, ways []way, ds [][]time.Duration, first string) {
	base := percentile.Of(ds[0], 50)
	for i, w := range ways {
		p50 := percentile.Of(ds[i], 50)
		b.ReportMetric(float64(p50.Microseconds()), w.name+"_p50_µs")
		if i > 0 {
			b.ReportMetric(float64(p50)/float64(base), w.name+"_x_"+first)
		}
	}
}
