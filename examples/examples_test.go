package examples_test

import (
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/examples"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/sdk"
	"github.com/plugvisor/plugvisor/sdk/sdktest"
)

// TestMain builds the example binaries once for every test here and
// removes them at the end.
func TestMain(m *testing.M) {
	os.Exit(testutil.Main(m, "github.com/plugvisor/plugvisor/examples/cmd/..."))
}

// binary is the built example called name.
func binary(t *testing.T, name string) string { return testutil.Bin(name) }

// start runs example name with args under a test supervisor and connects it.
func start(t *testing.T, name string, args ...string) (*sdktest.Process, *sdktest.Conn) {
	t.Helper()
	sv := sdktest.New(t)
	p := sdktest.Exec(t, sv.Command(binary(t, name), name, args...))
	return p, sv.Connect()
}

func TestLookup(t *testing.T) {
	names := examples.Names()
	if !slices.IsSorted(names) || len(names) != 3 {
		t.Errorf("Names() = %v", names)
	}
	for _, n := range names {
		if fn, ok := examples.Lookup(n); !ok || fn == nil {
			t.Errorf("Lookup(%q) failed", n)
		}
	}
	if _, ok := examples.Lookup("nope"); ok {
		t.Error(`Lookup("nope") succeeded`)
	}
}

func TestEcho(t *testing.T) {
	p, c := start(t, "echo")
	for _, id := range []uint32{0, 1, 42, 1 << 31} {
		content := "hello " + strconv.Itoa(int(id))
		r := c.WaitReply(c.Task(id, content))
		if f := r.Final.Fields; f["data_type"] != "echo" || f["content"] != content || r.Status() != protocol.StatusOK {
			t.Errorf("task %d: reply %v", id, f)
		}
	}
	c.Shutdown(5*time.Second, "done")
	c.WaitGoodbye()
	if code := p.WaitExit(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

func TestEchoRefusesArguments(t *testing.T) {
	cmd := exec.Command(binary(t, "echo"), "--verbose")
	cmd.Env = sdktest.CleanEnviron()
	p := sdktest.Exec(t, cmd)
	if code := p.WaitExit(); code != sdk.ExitUsage {
		t.Errorf("exit %d, want %d", code, sdk.ExitUsage)
	}
}

func TestTicker(t *testing.T) {
	p, c := start(t, "ticker", "--interval", "10ms")
	ticks := c.WaitType("tick", 3)
	for i, r := range ticks[:3] {
		if r.Fields["seq"] != strconv.Itoa(i+1) || r.Fields["interval"] != "10ms" {
			t.Errorf("tick %d: %v", i, r.Fields)
		}
	}
	c.Shutdown(5*time.Second, "enough")
	if gb := c.WaitGoodbye(); gb.Reason != "shutdown requested: enough" {
		t.Errorf("goodbye %q", gb.Reason)
	}
	if code := p.WaitExit(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

func TestTickerCountFinishes(t *testing.T) {
	p, c := start(t, "ticker", "--interval", "1ms", "--count", "3")
	if gb := c.WaitGoodbye(); gb.Reason != "finished" {
		t.Errorf("goodbye %q", gb.Reason)
	}
	if n := len(c.WaitType("tick", 3)); n != 3 {
		t.Errorf("%d ticks, want 3", n)
	}
	if code := p.WaitExit(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// plugin </dev/null keeps running: end of stdin ends tasks, not the plugin.
func TestTickerStandaloneOutlivesStdin(t *testing.T) {
	cmd := exec.Command(binary(t, "ticker"), "--interval", "5ms")
	cmd.Env = sdktest.CleanEnviron() // and stdin is /dev/null
	p := sdktest.Exec(t, cmd)
	p.Stderr.WaitContaining(t, "end of stdin")
	p.Stdout.WaitLines(t, "three ticks", func(l []string) bool { return len(l) >= 3 })
	p.Signal(syscall.SIGTERM)
	if code := p.WaitExit(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

func TestChaosCrashTaskExit(t *testing.T) {
	p, c := start(t, "chaos", "--exit-code", "7")
	if r := c.WaitReply(c.Task(1, "")); r.Final.Fields["action"] != "crash" {
		t.Errorf("reply %v", r.Final.Fields)
	}
	if code := p.WaitExit(); code != 7 {
		t.Errorf("exit %d, want 7", code)
	}
}

func TestChaosCrashTaskPanic(t *testing.T) {
	p, c := start(t, "chaos")
	c.WaitReply(c.Task(1, "panic"))
	if code := p.WaitExit(); code != 2 { // Go's exit code for an unrecovered panic
		t.Errorf("exit %d, want 2", code)
	}
	p.Stderr.WaitContaining(t, "panic: chaos: crash on request")
}

func TestChaosCrashAfter(t *testing.T) {
	p, _ := start(t, "chaos", "--crash-after", "20ms", "--exit-code", "9")
	if code := p.WaitExit(); code != 9 {
		t.Errorf("exit %d, want 9", code)
	}
}

func TestChaosExitTask(t *testing.T) {
	p, c := start(t, "chaos")
	c.WaitReply(c.Task(5, "42"))
	if code := p.WaitExit(); code != 42 {
		t.Errorf("exit %d, want 42", code)
	}
}

func TestChaosHangTask(t *testing.T) {
	p, c := start(t, "chaos")
	c.WaitReply(c.Task(2, ""))
	waitState(t, p.Pid(), "T")
	assertNoPong(t, c)
}

func TestChaosHangAfter(t *testing.T) {
	p, c := start(t, "chaos", "--hang-after", "20ms")
	waitState(t, p.Pid(), "T")
	assertNoPong(t, c)
}

// assertNoPong pings a stopped plugin. The process state already proves the
// hang; the short wait only shows the supervisor's view of it.
func assertNoPong(t *testing.T, c *sdktest.Conn) {
	t.Helper()
	before := c.Pongs()
	c.Ping()
	time.Sleep(200 * time.Millisecond)
	if c.Pongs() != before {
		t.Error("a stopped plugin answered a ping")
	}
}

func TestChaosFloodTask(t *testing.T) {
	_, c := start(t, "chaos")
	r := c.WaitReply(c.Task(3, "5000"))
	if r.Final.Fields["count"] != "5000" {
		t.Errorf("reply %v", r.Final.Fields)
	}
	// The reply was queued after the flood, so every flood record is in.
	recs, frames := c.Records()
	n := 0
	for _, rec := range recs {
		if rec.DataType() == "flood" {
			n++
		}
	}
	if n != 5000 {
		t.Errorf("%d flood records, want 5000", n)
	}
	if frames >= n {
		t.Errorf("%d records in %d frames: not batched", n, frames)
	}
}

func TestChaosFloodRate(t *testing.T) {
	_, c := start(t, "chaos", "--flood-rate", "5000")
	recs := c.WaitType("flood", 200)
	for i, r := range recs[:200] {
		if r.Fields["seq"] != strconv.Itoa(i+1) {
			t.Fatalf("flood record %d has seq %s", i, r.Fields["seq"])
		}
	}
}

func TestChaosStderr(t *testing.T) {
	p, c := start(t, "chaos", "--stderr-every", "10ms")
	tok := c.Task(4, "3")
	c.WaitReply(tok)
	p.Stderr.WaitLines(t, "3 task lines", func(lines []string) bool {
		return countContaining(lines, "stderr task "+tok) == 3
	})
	p.Stderr.WaitLines(t, "2 periodic lines", func(lines []string) bool {
		return countContaining(lines, "chaos: stderr line") >= 2
	})
}

func countContaining(lines []string, s string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

func TestChaosHandlerFailures(t *testing.T) {
	_, c := start(t, "chaos")
	if r := c.WaitReply(c.Task(7, "no disk")); r.Status() != protocol.StatusError || r.Final.Fields["error"] != "no disk" {
		t.Errorf("fail: %v", r.Final.Fields)
	}
	if r := c.WaitReply(c.Task(9, "")); r.Final.Fields["error"] != "panic: chaos: handler panic on request" {
		t.Errorf("panic: %v", r.Final.Fields)
	}
	if r := c.WaitReply(c.Task(8, "1ms")); r.Status() != protocol.StatusOK || r.Final.Fields["slept"] != "1ms" {
		t.Errorf("sleep: %v", r.Final.Fields)
	}
}

func TestChaosIgnoreTerm(t *testing.T) {
	p, c := start(t, "chaos", "--ignore-term")
	p.Signal(syscall.SIGTERM) // discarded at once: the signal is ignored
	c.WaitReply(c.Task(8, "1ms"))
	c.Shutdown(time.Second, "stop")
	c.WaitGoodbye()
	c.WaitClosed()
	p.Stderr.WaitContaining(t, "lingering until killed")
	p.Signal(syscall.SIGTERM)
	_ = syscall.Kill(p.Pid(), syscall.SIGKILL)
	ws := p.Wait().Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("ended by %v, want SIGKILL: it should have lingered", ws)
	}
}

func TestChaosSpawnChildInGroup(t *testing.T) {
	p, c := start(t, "chaos", "--spawn-child")
	pid, err := strconv.Atoi(c.WaitType("child", 1)[0].Fields["pid"])
	if err != nil {
		t.Fatal(err)
	}
	if pgrp := statField(t, pid, 2); pgrp != strconv.Itoa(p.Pid()) {
		t.Errorf("grandchild pgrp %s, want the plugin's group %d", pgrp, p.Pid())
	}
	if err := syscall.Kill(-p.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.Wait()
	waitGone(t, pid)
}

// statField returns field i (0 = state) after the command name of
// /proc/pid/stat; "" if the process is gone.
func statField(t *testing.T, pid, i int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return fields[i]
}

func waitState(t *testing.T, pid int, want string) {
	t.Helper()
	waitFor(t, "state "+want, func() bool { return statField(t, pid, 0) == want })
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	waitFor(t, "grandchild gone", func() bool {
		s := statField(t, pid, 0)
		return s == "" || s == "Z"
	})
}

// waitFor polls cond: process states have no event to wait on.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.WaitUntil(t, what, sdktest.Timeout, cond)
}
