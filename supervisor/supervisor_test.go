package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/examples/chaos"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

func TestStartRegisterDataTask(t *testing.T) {
	h := startHarness(t, plugin(t, "echo", supervisortest.Bin("echo"), "")+plugin(t, "ticker", supervisortest.Bin("ticker"), `args = ["--interval", "20ms"]`))
	events, cancel, _ := h.Sup.Subscribe(context.Background(), 10000)
	defer cancel()
	st := h.WaitState("echo", supervisor.StateRunning)
	if st.PID <= 0 || st.PGID != st.PID {
		t.Fatalf("echo pid %d pgid %d: want its own process group", st.PID, st.PGID)
	}
	h.WaitState("ticker", supervisor.StateRunning)
	// The kernel names a process after the file it executes, /proc/self/fd/3
	// here; the SDK renames it so ps and top show the plugin.
	if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", st.PID)); strings.TrimSpace(string(comm)) != "echo" {
		t.Fatalf("process name %q, want echo", comm)
	}

	reply, err := h.Sup.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "echo", ID: 1, Content: "hello plugvisor"})
	if err != nil {
		t.Fatal(err)
	}
	if reply.Status != protocol.StatusOK || len(reply.Records) == 0 || reply.Records[0].Fields["content"] != "hello plugvisor" {
		t.Fatalf("reply %+v", reply)
	}
	if reply.RTT <= 0 || reply.Token == "" || reply.Records[0].Token != reply.Token {
		t.Fatalf("reply RTT %v token %q records %+v", reply.RTT, reply.Token, reply.Records)
	}
	var ticks int
	supervisortest.WaitUntil(t, "tick records", 10*time.Second, func() bool {
		for {
			select {
			case ev := <-events:
				if ev.Type == supervisor.EventRecords && ev.Instance == "ticker" {
					for _, r := range ev.Records {
						if r.DataType() == "tick" {
							ticks++
						}
					}
				}
				continue
			default:
			}
			return ticks >= 3
		}
	})
	st = h.Status("echo")
	if st.TasksSent != 1 || st.TasksAnswered != 1 || st.RTTp50 <= 0 {
		t.Fatalf("echo counters %+v p50 %v", st.Counters, st.RTTp50)
	}
	if rtt, err := h.Sup.Ping(context.Background(), "ticker"); err != nil || rtt <= 0 {
		t.Fatalf("ping: %v %v", rtt, err)
	}
	supervisortest.WaitUntil(t, "a heartbeat", 10*time.Second, func() bool {
		st := h.Status("ticker")
		return !st.LastHeartbeat.IsZero() && st.HeartbeatRTT > 0 && time.Since(st.LastHeartbeat) < time.Minute
	})
	logsDir := filepath.Join(h.Dir, "plugin", "echo")
	if fi, err := os.Stat(logsDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("plugin dir %s: %v %v", logsDir, fi.Mode(), err)
	}
	sock, err := os.Stat(filepath.Join(h.Dir, "plugvisor.sock"))
	if err != nil || sock.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", sock.Mode(), err)
	}
}

func TestChecksumMismatchRefused(t *testing.T) {
	exe := supervisortest.Bin("echo")
	bad := strings.Repeat("ab", 32)
	cfg := "[plugins.echo]\nexec = \"" + exe + "\"\nsha256 = \"" + bad + "\"\n"
	h := startHarness(t, cfg)
	st := h.WaitState("echo", supervisor.StateFailed)
	for _, want := range []string{"checksum mismatch", bad, supervisortest.SHA256(t, exe)} {
		if !strings.Contains(st.Reason, want) {
			t.Fatalf("reason %q lacks %q", st.Reason, want)
		}
	}
	if st.Restarts != 0 {
		t.Fatalf("a checksum mismatch must not be retried; restarts = %d", st.Restarts)
	}
}

// TestUnknownNameRejected: a plugin's own process that names an instance
// the configuration does not have is told so.
func TestUnknownNameRejected(t *testing.T) {
	h := startHarness(t, plugin(t, "named", self(), `restart = "never"`+"\nenv = { PV_TEST_ROLE = \"unknownname\" }"))
	line := waitLog(t, h, "named", "rejected: unknown_plugin")
	if !strings.Contains(line, "nosuch") {
		t.Fatalf("reject %q; want it to name nosuch", line)
	}
}

// TestImpostorRejected: a process that knows a valid name but was not started
// by the supervisor (it is outside the plugin's process group) cannot
// register, even while the real plugin is expected.
func TestImpostorRejected(t *testing.T) {
	script := filepath.Join(supervisortest.ShortDir(t), "slow.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec sleep 30\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	h := startHarness(t, plugin(t, "slow", script, `start_timeout = "30s"`))
	st := h.WaitState("slow", supervisor.StateStarting)
	supervisortest.WaitUntil(t, "pid", 5*time.Second, func() bool { st = h.Status("slow"); return st.PGID > 0 })
	rej := dialHello(t, h, &protocol.Hello{Versions: protocol.Versions(), Name: "slow", Instance: "slow", PID: st.PID})
	if rej.Code != protocol.RejectCredentials || !strings.Contains(rej.Reason, "process group") {
		t.Fatalf("impostor not rejected for its process group: %+v", rej)
	}
	if got := h.Status("slow"); got.State != supervisor.StateStarting || got.PID != st.PID {
		t.Fatalf("the real plugin was disturbed: %s pid %d", got.State, got.PID)
	}
}

// TestSilentConnectionClosed: a connection from no plugin is told why and
// closed at once, without a byte read from it.
func TestSilentConnectionClosed(t *testing.T) {
	h := startHarness(t, "")
	c, err := net.Dial("unix", filepath.Join(h.Dir, "plugvisor.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	m, err := protocol.NewConn(c, protocol.Options{}).Recv()
	if rej, ok := m.(*protocol.Reject); !ok || rej.Code != protocol.RejectCredentials {
		t.Fatalf("first frame %+v, %v; want a credentials reject", m, err)
	}
	n, err := c.Read(make([]byte, 1))
	if n != 0 || err == nil {
		t.Fatalf("silent connection got %d more bytes, err %v; want it closed", n, err)
	}
	if info := supervisortest.InfoOf(t, h.Sup); info.RefusedConns != 1 {
		t.Fatalf("refused connections %d, want 1", info.RefusedConns)
	}
}

func dialHello(t *testing.T, h *harness, hello *protocol.Hello) *protocol.Reject {
	t.Helper()
	c, err := net.Dial("unix", filepath.Join(h.Dir, "plugvisor.sock"))
	if err != nil {
		t.Fatal(err)
	}
	conn := protocol.NewConn(c, protocol.Options{ReadTimeout: 10 * time.Second})
	defer conn.Close()
	// A peer refused unread may find the connection closed while it still
	// writes; its reject is waiting to be read all the same.
	if err := conn.Send(hello); err != nil && !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatal(err)
	}
	return expectReject(t, conn)
}

func TestBadFramesEndOnlyThatSession(t *testing.T) {
	for _, role := range []string{"oversize", "garbage"} {
		t.Run(role, func(t *testing.T) {
			h := startHarness(t, plugin(t, "echo", supervisortest.Bin("echo"), "")+
				plugin(t, "bad", self(), `restart = "never"`+"\nenv = { PV_TEST_ROLE = \""+role+"\" }"))
			h.WaitState("echo", supervisor.StateRunning)
			st := h.WaitState("bad", supervisor.StateExited)
			want := map[string]string{"oversize": "frame too large", "garbage": "malformed"}[role]
			if !strings.Contains(st.Reason, want) {
				t.Fatalf("reason %q lacks %q", st.Reason, want)
			}
			if _, err := h.Sup.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "echo", ID: 1, Content: "still here"}); err != nil {
				t.Fatalf("echo hurt by another plugin's bad frames: %v", err)
			}
		})
	}
}

func TestCrashBackoffThenFailed(t *testing.T) {
	h := startHarness(t, plugin(t, "crash", supervisortest.Bin("chaos"), `args = ["--crash-after", "1ms", "--exit-code", "3"]`+"\nrestart = \"always\""))
	events, cancel, _ := h.Sup.Subscribe(context.Background(), 10000)
	defer cancel()
	st := h.WaitState("crash", supervisor.StateFailed)
	if !strings.Contains(st.Reason, "restarted 3 times") {
		t.Fatalf("reason %q", st.Reason)
	}
	if st.LastExit.Code != 3 {
		t.Fatalf("last exit %+v", st.LastExit)
	}
	// The delays the engine chose, as each backoff state says ("restart 2
	// in 1.6s"): the gaps between events would measure the machine's load.
	var delays []time.Duration
	for len(events) > 0 {
		ev := <-events
		if ev.Type != supervisor.EventState || ev.Instance != "crash" || ev.State != supervisor.StateBackoff {
			continue
		}
		_, in, ok := strings.Cut(ev.Reason, " in ")
		d, err := time.ParseDuration(in)
		if !ok || err != nil {
			t.Fatalf("backoff reason %q does not say the delay", ev.Reason)
		}
		delays = append(delays, d)
	}
	if len(delays) != 3 {
		t.Fatalf("want 3 backoff delays, got %v", delays)
	}
	for i := 1; i < len(delays); i++ {
		if delays[i] <= delays[i-1] {
			t.Fatalf("backoff did not grow: %v", delays)
		}
	}
	// An operator start clears the failure and grants a fresh burst budget.
	// The crash comes after registration, so Start itself succeeds.
	if err := h.Sup.Start(context.Background(), "crash"); err != nil {
		t.Fatalf("operator start: %v", err)
	}
	supervisortest.WaitUntil(t, "restarts after operator start", 20*time.Second, func() bool {
		return h.Status("crash").Restarts > st.Restarts
	})
}

func TestHungPluginRestarted(t *testing.T) {
	h := startHarness(t, plugin(t, "hang", supervisortest.Bin("chaos"), `args = ["--hang-after", "200ms"]`+"\nrestart = \"always\""))
	h.WaitState("hang", supervisor.StateRunning)
	first := h.Status("hang").PID
	supervisortest.WaitUntil(t, "hang detected", 20*time.Second, func() bool {
		st := h.Status("hang")
		return strings.Contains(st.LastExit.Reason, "hung")
	})
	supervisortest.WaitUntil(t, "restarted", 20*time.Second, func() bool {
		st := h.Status("hang")
		return st.State == supervisor.StateRunning && st.PID != first
	})
}

func TestThreeInstances(t *testing.T) {
	h := startHarness(t, plugin(t, "echo", supervisortest.Bin("echo"), "instances = 3"))
	seen := map[string]bool{}
	for _, id := range []string{"echo.0", "echo.1", "echo.2"} {
		st := h.WaitState(id, supervisor.StateRunning)
		seen[st.Instance] = true
	}
	for i := 0; i < 6; i++ {
		r, err := h.Sup.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "echo", ID: 1, Content: "x"})
		if err != nil {
			t.Fatal(err)
		}
		seen[r.Instance+"/replied"] = true
	}
	for _, id := range []string{"echo.0", "echo.1", "echo.2"} {
		if !seen[id+"/replied"] {
			t.Fatalf("round-robin never reached %s: %v", id, seen)
		}
	}
}

func TestStopLeavesNoZombieOrGrandchild(t *testing.T) {
	h := startHarness(t, plugin(t, "kids", supervisortest.Bin("chaos"), `args = ["--spawn-child", "--ignore-term"]`))
	st := h.WaitState("kids", supervisor.StateRunning)
	supervisortest.WaitUntil(t, "grandchild", 10*time.Second, func() bool { return len(groupMembers(st.PGID)) >= 2 })
	if err := h.Sup.Stop(context.Background(), "kids"); err != nil {
		t.Fatal(err)
	}
	if m := groupMembers(st.PGID); len(m) > 0 {
		t.Fatalf("group %d still has %v", st.PGID, m)
	}
	if kids := children(os.Getpid()); len(kids) > 1 { // the watchdog stays until Run ends
		t.Fatalf("children left: %v", kids)
	}
	if got := h.Status("kids"); got.State != supervisor.StateStopped {
		t.Fatalf("state %s", got.State)
	}
}

func TestReloadNewVersionReplaces(t *testing.T) {
	var next string
	h := startHarness(t, plugin(t, "echo", supervisortest.Bin("echo"), `version = "1.0.0"`), func(o *supervisor.Options) {
		o.Reload = reloadFrom(o.Config.Agent.WorkDir, &next)
	})
	old := h.WaitState("echo", supervisor.StateRunning)
	next = plugin(t, "echo", supervisortest.Bin("echo"), `version = "1.1.0"`)
	if err := h.Sup.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := h.WaitState("echo", supervisor.StateRunning)
	if st.PID == old.PID || st.Version != "1.1.0" {
		t.Fatalf("not replaced: pid %d→%d version %s", old.PID, st.PID, st.Version)
	}
	// Same version again: left alone.
	if err := h.Sup.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if again := h.Status("echo"); again.PID != st.PID {
		t.Fatalf("unchanged plugin restarted: %d → %d", st.PID, again.PID)
	}
	// Removed: stopped and gone.
	next = ""
	if err := h.Sup.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(h.Snapshot()); n != 0 {
		t.Fatalf("%d instances after removing the plugin", n)
	}
	if _, err := h.Sup.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "echo", ID: 1, Content: "x"}); !errors.Is(err, supervisor.ErrUnknownPlugin) {
		t.Fatalf("send to removed plugin: %v", err)
	}
}

func TestNoCommonVersionIsPermanent(t *testing.T) {
	h := startHarness(t, plugin(t, "future", self(), `restart = "always"`+"\nenv = { PV_TEST_ROLE = \"futureversion\" }"))
	st := h.WaitState("future", supervisor.StateFailed)
	for _, want := range []string{"no common protocol version", "v98, v99", "v1"} {
		if !strings.Contains(st.Reason, want) {
			t.Fatalf("reason %q lacks %q", st.Reason, want)
		}
	}
	if st.Restarts != 0 {
		t.Fatalf("a version mismatch was retried %d times", st.Restarts)
	}
	logs, err := h.Sup.Logs(context.Background(), "future", 10)
	if err != nil || len(logs) == 0 || !strings.Contains(logs[len(logs)-1].Text, "rejected: no_common_version") {
		t.Fatalf("the plugin did not see the reject: %v %v", logs, err)
	}
}

func TestSecondConnectionRejected(t *testing.T) {
	h := startHarness(t, plugin(t, "twice", self(), "env = { PV_TEST_ROLE = \"twice\" }"))
	h.WaitState("twice", supervisor.StateRunning)
	supervisortest.WaitUntil(t, "second connection's reject in the logs", 10*time.Second, func() bool {
		logs, _ := h.Sup.Logs(context.Background(), "twice", 10)
		for _, l := range logs {
			if strings.Contains(l.Text, "second connection: already_connected") && l.Stream == supervisor.Stderr {
				return true
			}
		}
		return false
	})
	if st := h.Status("twice"); st.State != supervisor.StateRunning {
		t.Fatalf("the first connection was disturbed: %s %s", st.State, st.Reason)
	}
}

func TestOutputCapturedAndStatsSampled(t *testing.T) {
	h := startHarness(t, plugin(t, "noisy", supervisortest.Bin("chaos"), `args = ["--stderr-every", "20ms", "--flood-rate", "500"]`),
		func(o *supervisor.Options) { o.StatsInterval = 50 * time.Millisecond })
	h.WaitState("noisy", supervisor.StateRunning)
	var st supervisor.PluginStatus
	supervisortest.WaitUntil(t, "rates, CPU and RSS", 20*time.Second, func() bool {
		st = h.Status("noisy")
		return st.RSS > 0 && st.RecordsPerSec > 0 && st.RecordsIn > 0 && st.FramesIn > 0 && st.BytesIn > 0
	})
	var lines []supervisor.LogLine
	supervisortest.WaitUntil(t, "stderr lines", 10*time.Second, func() bool {
		lines, _ = h.Sup.Logs(context.Background(), "noisy", 5)
		return len(lines) == 5
	})
	if lines[4].Stream != supervisor.Stderr || lines[4].Instance != "noisy" {
		t.Fatalf("%+v", lines[4])
	}
	data, err := os.ReadFile(st.StderrLog)
	if err != nil || !strings.Contains(string(data), lines[0].Text) {
		t.Fatalf("stderr log %s: %v", st.StderrLog, err)
	}
}

func TestTaskToHungPluginTimesOut(t *testing.T) {
	h := startHarness(t, plugin(t, "hang", supervisortest.Bin("chaos"), `args = ["--hang-after", "100ms"]`+"\nrestart = \"never\""), func(o *supervisor.Options) {
		o.Config.Agent.TaskTimeout = 200 * time.Millisecond
		o.Config.Agent.HeartbeatTimeout = 5 * time.Second
	})
	h.WaitState("hang", supervisor.StateRunning)
	supervisortest.WaitUntil(t, "the plugin stopped", 10*time.Second, func() bool {
		st := h.Status("hang")
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", st.PID))
		s := string(data)
		return len(s) > 0 && strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0] == "T"
	})
	_, err := h.Sup.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "hang", ID: 1, Content: "anyone?"})
	if !errors.Is(err, supervisor.ErrTaskTimeout) || !strings.Contains(err.Error(), "200ms") {
		t.Fatalf("want a timeout naming the limit, got %v", err)
	}
	if st := h.Status("hang"); st.TasksTimedOut != 1 || st.InFlight != 0 {
		t.Fatalf("counters %+v in flight %d", st.Counters, st.InFlight)
	}
}

// TestTaskOutcomes: the caller may choose a task's token and then knows it
// before the reply; a pending event announces it when it goes on the wire;
// every end is a typed outcome, on the returned Reply and on the event.
func TestTaskOutcomes(t *testing.T) {
	h := startHarness(t, plugin(t, "chaos", supervisortest.Bin("chaos"), `restart = "never"`), func(o *supervisor.Options) {
		o.Config.Agent.TaskTimeout = 5 * time.Second
	})
	h.WaitState("chaos", supervisor.StateRunning)
	events, cancel, err := h.Sup.Subscribe(context.Background(), 10000)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	ctx := context.Background()
	send := func(ctx context.Context, token string, id uint32, content string) (supervisor.Reply, error) {
		return h.Sup.SendTask(ctx, supervisor.TaskRequest{Plugin: "chaos", ID: id, Content: content, Token: token})
	}

	// Chosen token, pending then answered.
	r, err := send(ctx, "mine-1", chaos.TaskSleep, "1ms")
	if err != nil || r.Outcome != supervisor.OutcomeAnswered || r.Token != "mine-1" {
		t.Fatalf("sleep task: %+v, %v", r, err)
	}
	var seen []supervisor.Outcome
	supervisortest.WaitUntil(t, "both events of mine-1", 10*time.Second, func() bool {
		for {
			select {
			case ev := <-events:
				if ev.Type == supervisor.EventTask && ev.Task.Token == "mine-1" {
					seen = append(seen, ev.Task.Outcome)
				}
				continue
			default:
			}
			return len(seen) == 2
		}
	})
	if seen[0] != supervisor.OutcomePending || seen[1] != supervisor.OutcomeAnswered {
		t.Fatalf("events of mine-1: %v, want pending then answered", seen)
	}

	// An error reply is answered, with the outcome saying so.
	r, err = send(ctx, "", chaos.TaskFail, "boom")
	if err != nil || r.Outcome != supervisor.OutcomeError || r.Error != "boom" || r.Token == "" {
		t.Fatalf("fail task: %+v, %v", r, err)
	}

	// A token in flight cannot be reused; a bad one is refused unsent.
	slow := make(chan supervisor.Reply, 1)
	go func() { r, _ := send(ctx, "dup", chaos.TaskSleep, "500ms"); slow <- r }()
	supervisortest.WaitUntil(t, "dup in flight", 10*time.Second, func() bool { return h.Status("chaos").InFlight == 1 })
	if r, err := send(ctx, "dup", chaos.TaskSleep, "1ms"); !errors.Is(err, supervisor.ErrTokenInUse) || r.Outcome != supervisor.OutcomeNotSent {
		t.Fatalf("reused token: %+v, %v", r, err)
	}
	if r := <-slow; r.Outcome != supervisor.OutcomeAnswered {
		t.Fatalf("the first dup: %+v", r)
	}
	for _, bad := range []string{"has space", strings.Repeat("x", supervisor.MaxTokenLen+1), "nul\x00"} {
		if r, err := send(ctx, bad, chaos.TaskSleep, "1ms"); !errors.Is(err, supervisor.ErrBadToken) || r.Outcome != supervisor.OutcomeNotSent {
			t.Fatalf("token %q: %+v, %v", bad, r, err)
		}
	}

	// The caller's deadline is a timeout; a cancel is a cancel.
	dctx, dcancel := context.WithTimeout(ctx, 50*time.Millisecond)
	r, err = send(dctx, "late", chaos.TaskSleep, "5s")
	dcancel()
	if !errors.Is(err, context.DeadlineExceeded) || r.Outcome != supervisor.OutcomeTimedOut || r.Token != "late" {
		t.Fatalf("deadline: %+v, %v", r, err)
	}
	cctx, ccancel := context.WithCancel(ctx)
	go func() {
		supervisortest.WaitUntil(t, "the task in flight", 10*time.Second, func() bool { return h.Status("chaos").InFlight >= 1 })
		ccancel()
	}()
	if r, err = send(cctx, "", chaos.TaskSleep, "5s"); !errors.Is(err, context.Canceled) || r.Outcome != supervisor.OutcomeCancelled {
		t.Fatalf("cancel: %+v, %v", r, err)
	}

	// The plugin dying with a task it has (its progress record says so).
	gone := make(chan supervisor.Reply, 1)
	go func() { r, _ := send(ctx, "orphan", chaos.TaskHold, "30s"); gone <- r }()
	supervisortest.WaitUntil(t, "the plugin to hold the orphan", 10*time.Second, func() bool {
		for {
			select {
			case ev := <-events:
				for _, rec := range ev.Records {
					if rec.Token == "orphan" {
						return true
					}
				}
				continue
			default:
			}
			return false
		}
	})
	if err := syscall.Kill(h.Status("chaos").PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if r := <-gone; r.Outcome != supervisor.OutcomeGone || r.Token != "orphan" {
		t.Fatalf("orphan: %+v", r)
	}
	// Not running: never sent.
	h.WaitState("chaos", supervisor.StateExited)
	if r, err := send(ctx, "", chaos.TaskSleep, "1ms"); !errors.Is(err, supervisor.ErrNotRunning) || r.Outcome != supervisor.OutcomeNotSent {
		t.Fatalf("stopped plugin: %+v, %v", r, err)
	}
}
