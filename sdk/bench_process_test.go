package sdk_test

import (
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/percentile"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/sdk/sdktest"
)

// BenchmarkTaskRoundTripProcess sends tasks one at a time to the echo
// example running as its own process, from a minimal supervisor (one
// protocol.Conn on a real Unix socket), and waits for each reply. The
// anchor, in the same run and the same process, alternating in rounds, is
// the plugin's answer to a ping: the SDK's cheapest exchange, a read and a
// pong. x_ping is the task's p50 over the ping's.
//
//	go test ./sdk -run '^$' -bench TaskRoundTripProcess -count 5
func BenchmarkTaskRoundTripProcess(b *testing.B) {
	c := startEcho(b)
	const rounds = 4
	per := max(b.N/rounds, 1)
	tasks, pings := make([]time.Duration, 0, rounds*per), make([]time.Duration, 0, rounds*per)
	b.ResetTimer()
	for r := range rounds {
		for i := range per {
			t0 := time.Now()
			taskLoop(b, c, 1, 1)
			tasks = append(tasks, time.Since(t0))
			t0 = time.Now()
			pingOnce(b, c, uint64(r*per+i+1))
			pings = append(pings, time.Since(t0))
		}
	}
	b.StopTimer()
	task, ping := percentile.Of(tasks, 50), percentile.Of(pings, 50)
	b.ReportMetric(float64(task.Microseconds()), "task-p50-µs")
	b.ReportMetric(float64(percentile.Of(tasks, 99).Microseconds()), "task-p99-µs")
	b.ReportMetric(float64(ping.Microseconds()), "ping-p50-µs")
	b.ReportMetric(float64(task)/float64(ping), "x_ping")
}

// pingOnce sends a ping and reads up to its pong.
func pingOnce(b *testing.B, c *protocol.Conn, seq uint64) {
	if err := c.Send(&protocol.Ping{Seq: seq, Time: time.Now().UnixNano()}); err != nil {
		b.Fatal(err)
	}
	for {
		m, err := c.Recv()
		if err != nil {
			b.Fatal(err)
		}
		if p, ok := m.(*protocol.Pong); ok && p.Seq == seq {
			return
		}
	}
}

// startEcho runs the echo example against a minimal supervisor and
// returns the supervisor's Conn once the plugin is welcomed.
func startEcho(b *testing.B) *protocol.Conn {
	b.Helper()
	sock := filepath.Join(b.TempDir(), "e.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command(testutil.Bin("echo"))
	cmd.Env = append(sdktest.CleanEnviron(), protocol.EnvSocket+"="+sock, protocol.EnvPlugin+"=echo", protocol.EnvInstance+"=echo-1")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	nc, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	c := protocol.NewConn(nc, protocol.Options{})
	b.Cleanup(func() {
		_ = c.Send(&protocol.Shutdown{Grace: time.Second, Reason: "bench over"})
		select {
		case <-exited:
		case <-time.After(sdktest.Timeout):
			_ = cmd.Process.Kill()
			<-exited
		}
		c.Close()
	})
	if _, err := c.Recv(); err != nil { // hello
		b.Fatal(err)
	}
	if err := c.Send(&protocol.Welcome{Protocol: protocol.Version, Heartbeat: time.Second, Supervisor: "bench"}); err != nil {
		b.Fatal(err)
	}
	taskLoop(b, c, 1, 1) // warm
	return c
}
