package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/internal/natstest"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor"
	st "github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// BenchmarkFleetConsoleIdle runs the fleet console (`plugvisor fleet
// --nats URL`, a real process in a pty) over 50 hosts of 4 idle plugins
// each, and beside it, in the same windows, as its anchor, the console
// attached to one of those hosts over NATS (`plugvisor attach --nats URL
// --host h00`), and reports each one's CPU as a percent of a core and
// their ratio. The hosts are one in-process engine with four echo
// instances served over NATS as 50 hosts, each its own micro service on a
// connection of its own: what the console pays for is their answers and
// its rows, which is the same whatever engine stands behind each host.
// Each op is a one-second window.
//
//	go test -run '^$' -bench FleetConsoleIdle -benchtime 10x .
func BenchmarkFleetConsoleIdle(b *testing.B) {
	const hosts = 50
	srv := natstest.Start(b, natstest.Options{})
	self := testutil.Bin("plugvisor")
	eng := st.Start(b, st.Plugin(b, "echo", self, "args = [\"plugin\", \"echo\"]\ninstances = 4"), st.Options{})
	for i := range hosts {
		nc := connect(b, srv.URL())
		stop, err := fleet.Serve(fleet.ServiceOptions{Conn: nc, API: eng.Sup, Subjects: fleet.Subjects{Prefix: "plugvisor", Host: fmt.Sprintf("h%02d", i)}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = stop() })
	}
	for i := range 4 {
		eng.WaitState("echo."+strconv.Itoa(i), supervisor.StateRunning)
	}
	tmp, home := shortTemp(b, "pvc")
	console := func(args ...string) *vterm {
		cmd := exec.Command(self, args...)
		cmd.Env = demoEnv(home, tmp)
		return startInPty(b, cmd, 160, 50)
	}
	fleetTerm := console("fleet", "--nats", srv.URL())
	oneTerm := console("attach", "--nats", srv.URL(), "--host", "h00")
	fleetTerm.waitScreen(b, "every host's rows", func(s string) bool { return strings.Contains(s, fmt.Sprintf("Plugins %d", hosts*4)) })
	oneTerm.waitFor(b, "echo.3")
	b.ResetTimer()
	var fleetCPU, oneCPU, wall time.Duration
	for range b.N {
		f0, o0, t0 := procCPU(b, fleetTerm.cmd.Process.Pid), procCPU(b, oneTerm.cmd.Process.Pid), time.Now()
		time.Sleep(time.Second) // the measurement window, not a wait for anything
		fleetCPU += procCPU(b, fleetTerm.cmd.Process.Pid) - f0
		oneCPU += procCPU(b, oneTerm.cmd.Process.Pid) - o0
		wall += time.Since(t0)
	}
	b.StopTimer()
	b.ReportMetric(100*fleetCPU.Seconds()/wall.Seconds(), "fleet-cpu-%")
	b.ReportMetric(100*oneCPU.Seconds()/wall.Seconds(), "one-host-cpu-%")
	b.ReportMetric(fleetCPU.Seconds()/oneCPU.Seconds(), "fleet/one-host")
}

// procCPU is the user and system time process pid has used.
func procCPU(t testing.TB, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	// After the comm: state is 0, utime 11, stime 12, in clock ticks
	// (100 a second on Linux).
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	sy, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("/proc/%d/stat: %q", pid, s)
	}
	return time.Duration(ut+sy) * 10 * time.Millisecond
}

// connect is a NATS connection closed at cleanup.
func connect(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}
