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

// BenchmarkIdlePlugins starts 200 echo instances at 1 s heartbeats and
// reports the supervisor's own memory per plugin and CPU while they idle.
// Run it once: -bench IdlePlugins -benchtime 1x.
func BenchmarkIdlePlugins(b *testing.B) {
	const plugins, perPlugin = 4, 50
	var cfg strings.Builder
	for i := range plugins {
		cfg.WriteString(plugin(b, fmt.Sprintf("echo%d", i), supervisortest.Bin("echo"), fmt.Sprintf("instances = %d\nauto_start = false", perPlugin)))
	}
	h := startHarness(b, cfg.String(), func(o *supervisor.Options) {
		o.Config.Agent.HeartbeatInterval = time.Second
		o.Config.Agent.HeartbeatTimeout = 10 * time.Second
	})
	for b.Loop() {
		runtime.GC()
		rss0 := selfRSS(b)
		for i := range plugins {
			if err := h.Sup.Start(context.Background(), fmt.Sprintf("echo%d", i)); err != nil {
				b.Fatal(err)
			}
		}
		time.Sleep(2 * time.Second) // let start-up garbage settle
		runtime.GC()
		rss1 := selfRSS(b)
		cpu0, wall0 := selfCPU(), time.Now()
		time.Sleep(10 * time.Second)
		cpu := (selfCPU() - cpu0).Seconds() / time.Since(wall0).Seconds() * 100
		n := plugins * perPlugin
		running := 0
		for _, st := range h.Snapshot() {
			if st.State == supervisor.StateRunning {
				running++
			}
		}
		if running != n {
			b.Fatalf("%d of %d running", running, n)
		}
		b.ReportMetric(float64(rss1-rss0)/float64(n)/1024, "KiB_rss/plugin")
		b.ReportMetric(cpu, "cpu_%_of_core")
		b.ReportMetric(float64(n), "plugins")
	}
}

func selfRSS(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
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
	ways := []struct {
		name string
		h    *harness
	}{
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
	ds := make([][]time.Duration, len(ways))
	cycle := func(i int) time.Duration {
		t0 := time.Now()
		if err := ways[i].h.Sup.Start(context.Background(), "echo"); err != nil {
			b.Fatalf("%s: %v", ways[i].name, err)
		}
		d := time.Since(t0)
		if err := ways[i].h.Sup.Stop(context.Background(), "echo"); err != nil {
			b.Fatalf("%s: %v", ways[i].name, err)
		}
		return d
	}
	for i := range ways {
		cycle(i) // the first start after settling hashes once more
	}
	for b.Loop() {
		for i := range ways {
			ds[i] = append(ds[i], cycle(i))
		}
	}
	bare := percentile.Of(ds[0], 50)
	for i, w := range ways {
		p50 := percentile.Of(ds[i], 50)
		b.ReportMetric(float64(p50.Microseconds()), w.name+"_p50_µs")
		if i > 0 {
			b.ReportMetric(float64(p50)/float64(bare), w.name+"_x_bare")
		}
	}
}
