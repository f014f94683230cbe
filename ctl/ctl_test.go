package ctl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/plugvisor/plugvisor/control"
	ct "github.com/plugvisor/plugvisor/control/controltest"
	"github.com/plugvisor/plugvisor/ctl"
	"github.com/plugvisor/plugvisor/supervisor"
)

// env runs echo, a chaos plugin that writes to stderr, and one that hangs
// (SIGSTOP) as soon as its session starts.
func env(t *testing.T) *ct.Env {
	t.Helper()
	e := ct.Start(t, ct.Plugin(t, "echo", ct.Bin("echo"), "")+
		ct.Plugin(t, "noisy", ct.Bin("chaos"), `args = ["--stderr-every", "20ms"]`)+
		ct.Plugin(t, "hung", ct.Bin("chaos"), `args = ["--hang-after", "1ms"]`), ct.Options{})
	e.WaitState("echo", supervisor.StateRunning)
	e.WaitState("noisy", supervisor.StateRunning)
	hung := e.WaitState("hung", supervisor.StateRunning)
	ct.WaitUntil(t, "the hung plugin to stop itself", 10*time.Second, func() bool { return procState(hung.PID) == "T" })
	return e
}

// procState is a process's state letter from /proc (T: stopped).
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return fields[0]
}

type result struct {
	code           int
	stdout, stderr string
}

// ctlRun runs `plugvisor ctl --socket S args...`.
func ctlRun(t *testing.T, e *ct.Env, args ...string) result {
	t.Helper()
	return ctlRunCtx(context.Background(), t, append([]string{"--socket", e.Socket}, args...)...)
}

func ctlRunCtx(ctx context.Context, t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut ct.SyncBuffer
	code := ctl.Main(ctx, args, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

func (r result) want(t *testing.T, code int, stdout ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range stdout {
		if !strings.Contains(r.stdout, s) {
			t.Fatalf("stdout lacks %q:\n%s\nstderr:\n%s", s, r.stdout, r.stderr)
		}
	}
}

func (r result) wantErr(t *testing.T, code int, stderr string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stderr, stderr) {
		t.Fatalf("exit %d, want %d with stderr containing %q\nstdout:\n%s\nstderr:\n%s", r.code, code, stderr, r.stdout, r.stderr)
	}
}

func TestVerbs(t *testing.T) {
	e := env(t)

	t.Run("status", func(t *testing.T) {
		r := ctlRun(t, e, "status")
		r.want(t, ctl.ExitOK, "NAME", "INSTANCE", "STATE", "PID", "UPTIME", "RESTARTS", "HEARTBEAT", "RTT", "RECORDS/S")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 4 {
			t.Fatalf("want a header and 3 rows:\n%s", r.stdout)
		}
		col := strings.Index(lines[0], "STATE")
		for _, l := range lines[1:] {
			if !strings.HasPrefix(l[col:], "running") {
				t.Fatalf("STATE column not aligned at %d in %q", col, l)
			}
		}
		r = ctlRun(t, e, "status", "--json")
		r.want(t, ctl.ExitOK)
		var snap []supervisor.PluginStatus
		if err := json.Unmarshal([]byte(r.stdout), &snap); err != nil || len(snap) != 3 {
			t.Fatalf("status --json: %v\n%s", err, r.stdout)
		}
		for i, st := range e.Snapshot() {
			if snap[i].Instance != st.Instance || snap[i].PID != st.PID || snap[i].State != st.State {
				t.Fatalf("status --json row %d: %+v, want %s pid %d", i, snap[i], st.Instance, st.PID)
			}
		}
	})

	t.Run("send", func(t *testing.T) {
		ctlRun(t, e, "send", "echo", "1", "hello world").
			want(t, ctl.ExitOK, `data_type=echo content="hello world" task_status=ok`+"\n")
		r := ctlRun(t, e, "send", "--json", "echo", "2", "--", "-dash")
		r.want(t, ctl.ExitOK)
		var reply supervisor.Reply
		if err := json.Unmarshal([]byte(r.stdout), &reply); err != nil || reply.ID != 2 || reply.Records[0].Fields["content"] != "-dash" || reply.RTT <= 0 {
			t.Fatalf("send --json: %v %+v", err, reply)
		}
		// chaos task 7 fails with its content: the record is printed, the exit is 1.
		r = ctlRun(t, e, "send", "noisy", "7", "boom")
		r.wantErr(t, ctl.ExitFailed, "replied error: boom")
		if !strings.Contains(r.stdout, "error=boom") {
			t.Fatalf("the error reply's record is not printed:\n%s", r.stdout)
		}
		ctlRun(t, e, "send", "nosuch", "1", "x").wantErr(t, ctl.ExitFailed, `"nosuch": unknown plugin`)
		ctlRun(t, e, "send", "echo", "one", "x").wantErr(t, ctl.ExitUsage, `task id "one"`)
	})

	t.Run("send to a hung plugin times out", func(t *testing.T) {
		sent := ctlRun(t, e, "send", "hung", "4", "1", "--timeout", "300ms")
		sent.wantErr(t, ctl.ExitTimeout, "within --timeout 300ms: context deadline exceeded")
		if !regexp.MustCompile(`task 4 \(token ctl[0-9a-f]+-1\) on hung: timed_out: `).MatchString(sent.stderr) {
			t.Fatalf("a task cut off by --timeout is not named with its token and plugin: %s", sent.stderr)
		}
		ctlRun(t, e, "ping", "hung", "--timeout", "300ms").wantErr(t, ctl.ExitTimeout, "within --timeout 300ms: context deadline exceeded")
	})

	t.Run("ping", func(t *testing.T) {
		r := ctlRun(t, e, "ping", "echo")
		r.want(t, ctl.ExitOK, "echo: ")
		if _, err := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(r.stdout, "echo: "))); err != nil {
			t.Fatalf("ping output %q: %v", r.stdout, err)
		}
		r = ctlRun(t, e, "ping", "--json", "echo")
		var p struct {
			Name string
			RTT  time.Duration
		}
		if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || p.Name != "echo" || p.RTT <= 0 {
			t.Fatalf("ping --json %q: %v", r.stdout, err)
		}
	})

	t.Run("logs", func(t *testing.T) {
		ct.WaitUntil(t, "stderr lines", 10*time.Second, func() bool {
			l, _ := e.Sup.Logs(context.Background(), "noisy", 3)
			return len(l) == 3
		})
		r := ctlRun(t, e, "logs", "noisy", "-n", "3")
		r.want(t, ctl.ExitOK, " noisy stderr chaos: stderr line ")
		if n := strings.Count(r.stdout, "\n"); n != 3 {
			t.Fatalf("logs -n 3 printed %d lines:\n%s", n, r.stdout)
		}
		r = ctlRun(t, e, "logs", "noisy", "-n", "2", "--json")
		var l supervisor.LogLine
		if err := json.Unmarshal([]byte(strings.Split(r.stdout, "\n")[0]), &l); err != nil || l.Instance != "noisy" || l.Stream != supervisor.Stderr {
			t.Fatalf("logs --json: %v %+v", err, l)
		}
		// -f follows until interrupted; an interrupt is a normal end.
		follow(t, e, []string{"logs", "noisy", "-n", "1", "-f"}, 4)
	})

	t.Run("events", func(t *testing.T) {
		r := ctlRun(t, e, "events", "-n", "3")
		r.want(t, ctl.ExitOK)
		if n := strings.Count(r.stdout, "\n"); n != 3 {
			t.Fatalf("events -n 3 printed %d lines:\n%s", n, r.stdout)
		}
		r = ctlRun(t, e, "events", "noisy", "--json", "-n", "5")
		r.want(t, ctl.ExitOK)
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			var ev supervisor.Event
			if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Instance != "noisy" || ev.Time.IsZero() {
				t.Fatalf("events --json line %q: %v", line, err)
			}
		}
		out := follow(t, e, []string{"events", "echo", "-f"}, 3)
		if !strings.Contains(out, "heartbeat echo rtt ") {
			t.Fatalf("events -f echo shows no heartbeat:\n%s", out)
		}
	})

	t.Run("stop start restart", func(t *testing.T) {
		ctlRun(t, e, "stop", "echo").want(t, ctl.ExitOK, "stopped echo\n")
		ctlRun(t, e, "status").want(t, ctl.ExitOK)
		if st := e.Status("echo"); st.State != supervisor.StateStopped {
			t.Fatalf("echo after ctl stop: %s", st.State)
		}
		ctlRun(t, e, "send", "echo", "1", "x").wantErr(t, ctl.ExitFailed, "plugin is not running")
		ctlRun(t, e, "start", "echo").want(t, ctl.ExitOK, "started echo\n")
		before := e.Status("echo").PID
		ctlRun(t, e, "restart", "echo").want(t, ctl.ExitOK, "restarted echo\n")
		if st := e.Status("echo"); st.State != supervisor.StateRunning || st.PID == before {
			t.Fatalf("echo after ctl restart: %s pid %d (was %d)", st.State, st.PID, before)
		}
		ctlRun(t, e, "stop", "nosuch").wantErr(t, ctl.ExitFailed, "unknown plugin")
	})

	t.Run("reload", func(t *testing.T) {
		ctlRun(t, e, "reload").wantErr(t, ctl.ExitFailed, "no configuration source to reload from")
	})

	t.Run("run", func(t *testing.T) {
		ctlRun(t, e, "run", filepath.Join("..", "testdata", "scripts", "smoke.pvs")).
			want(t, ctl.ExitOK, "summary: 1022 sent, 1022 answered, 0 timed out, 0 failed, 0 failed expectations", ": OK\n")
		bad := writeScript(t, "send echo 1 \"a\"\nexpect content == \"b\"\n")
		r := ctlRun(t, e, "run", bad)
		r.wantErr(t, ctl.ExitFailed, "script failed")
		r.want(t, ctl.ExitFailed, bad+`:2: expect content == "b": failed: content is "a"`, ": FAILED\n")
		malformed := writeScript(t, "wait echo running\nsend echo\n")
		ctlRun(t, e, "run", malformed).wantErr(t, ctl.ExitUsage, malformed+":2: send: want")
	})
}

// follow runs a following command until it has printed lines lines, then
// interrupts it and checks it ended cleanly.
func follow(t *testing.T, e *ct.Env, args []string, lines int) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut ct.SyncBuffer
	done := make(chan int, 1)
	go func() { done <- ctl.Main(ctx, append([]string{"--socket", e.Socket}, args...), &out, &errOut) }()
	ct.WaitUntil(t, strconv.Itoa(lines)+" lines from "+strings.Join(args, " "), 20*time.Second, func() bool {
		return strings.Count(out.String(), "\n") >= lines
	})
	cancel()
	if code := <-done; code != ctl.ExitOK {
		t.Fatalf("%v after an interrupt: exit %d\n%s", args, code, errOut.String())
	}
	return out.String()
}

func writeScript(t *testing.T, text string) string {
	path := filepath.Join(t.TempDir(), "s.pvs")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUsageAndConnection(t *testing.T) {
	for _, args := range [][]string{
		{}, {"launch"}, {"start"}, {"send", "echo", "1"}, {"status", "extra"}, {"info", "extra"}, {"info", "-f"}, {"logs", "x", "-n", "-1"}, {"status", "--bogus"},
	} {
		r := ctlRunCtx(context.Background(), t, append([]string{"--socket", "/nonexistent/ctl.sock"}, args...)...)
		if r.code != ctl.ExitUsage || !strings.Contains(r.stdout+r.stderr, "usage: plugvisor ctl") {
			t.Errorf("%v: exit %d, want %d with the usage\n%s%s", args, r.code, ctl.ExitUsage, r.stdout, r.stderr)
		}
	}
	ctlRunCtx(context.Background(), t, "help").want(t, ctl.ExitOK, "exit codes: 0 ok, 1 operation failed, 2 usage, 3 cannot connect, 4 timeout")
	ctlRunCtx(context.Background(), t, "--socket", "/nonexistent/ctl.sock", "status").
		wantErr(t, ctl.ExitUnreachable, "connect to control socket")
}

// TestSocketFromConfig: without --socket, ctl reads the control socket from
// the config plugvisor would load.
func TestSocketFromConfig(t *testing.T) {
	e := ct.Start(t, ct.Plugin(t, "echo", ct.Bin("echo"), ""), ct.Options{})
	cfg := filepath.Join(t.TempDir(), "config.toml")
	text := fmt.Sprintf("[agent]\nwork_dir = %q\ncontrol_socket = %q\n", e.Dir, e.Socket)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	ctlRunCtx(context.Background(), t, "--config", cfg, "status").want(t, ctl.ExitOK, "echo")
	t.Setenv("PLUGVISOR_CONFIG", cfg)
	ctlRunCtx(context.Background(), t, "status", "--json").want(t, ctl.ExitOK, `"instance":"echo"`)
	ctlRunCtx(context.Background(), t, "--config", filepath.Join(t.TempDir(), "missing.toml"), "status").
		wantErr(t, ctl.ExitUsage, "missing.toml")
}

// TestSocketOfDemo: with no config at all, ctl looks for the demo's socket.
func TestSocketOfDemo(t *testing.T) {
	e := ct.Start(t, ct.Plugin(t, "echo", ct.Bin("echo"), ""), ct.Options{})
	runtime, err := os.MkdirTemp("", "pvrt")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(runtime)
	for k, v := range map[string]string{"PLUGVISOR_CONFIG": "", "XDG_CONFIG_HOME": t.TempDir(), "HOME": t.TempDir(), "XDG_RUNTIME_DIR": runtime} {
		t.Setenv(k, v)
	}
	demo := filepath.Join(runtime, "plugvisor", "demo.ctl.sock")
	ctlRunCtx(context.Background(), t, "status").wantErr(t, ctl.ExitUnreachable, demo)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- control.Serve(ctx, e.Sup, demo, nil) }()
	defer func() { cancel(); <-served }()
	ct.WaitUntil(t, "the demo socket", 10*time.Second, func() bool { _, err := os.Stat(demo); return err == nil })
	ctlRunCtx(context.Background(), t, "status").want(t, ctl.ExitOK, "echo")
}

// TestPluginTextCannotDriveTheTerminal: what a plugin writes reaches the
// operator's terminal with its control characters escaped (ESC, BEL, CR,
// C1 CSI, bytes that are not UTF-8); --json keeps the text as it was, in
// JSON's escapes.
func TestPluginTextCannotDriveTheTerminal(t *testing.T) {
	// Any program's output is captured, registered plugin or not: this one
	// writes its attack and never registers.
	exe := filepath.Join(t.TempDir(), "evil.sh")
	sh := "#!/bin/sh\nwhile :; do printf 'evil \\033[31mred\\033]0;pwned\\007 \\302\\233 over\\rwrite \\377\\n' >&2; sleep 0.05; done\n"
	if err := os.WriteFile(exe, []byte(sh), 0o755); err != nil {
		t.Fatal(err)
	}
	e := ct.Start(t, ct.Plugin(t, "evil", exe, ""), ct.Options{})
	const raw = "evil \x1b[31mred\x1b]0;pwned\a \u009b over\rwrite \xff"
	const shown = `evil \x1b[31mred\x1b]0;pwned\a \u009b over\rwrite \xff`
	ct.WaitUntil(t, "evil's output", 10*time.Second, func() bool {
		l, _ := e.Sup.Logs(context.Background(), "evil", 0)
		return len(l) >= 2
	})
	clean := func(what, out string) {
		t.Helper()
		if strings.ContainsAny(out, "\x1b\a\r\u009b") || !utf8.ValidString(out) {
			t.Fatalf("%s passes control characters through: %q", what, out)
		}
	}
	r := ctlRun(t, e, "logs", "evil", "-n", "2")
	r.want(t, ctl.ExitOK, " evil stderr "+shown+"\n")
	clean("logs", r.stdout)

	r = ctlRun(t, e, "events", "evil", "-n", "5")
	r.want(t, ctl.ExitOK, "log       evil stderr: "+shown+"\n")
	clean("events", r.stdout)

	r = ctlRun(t, e, "logs", "evil", "-n", "1", "--json")
	r.want(t, ctl.ExitOK, `\u001b[31mred`)
	var l supervisor.LogLine
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || l.Text != strings.ToValidUTF8(raw, "\ufffd") {
		t.Fatalf("logs --json: %v %q", err, l.Text)
	}
}

// TestWaitNoticesLostConnection: a script waiting for a state that does
// not come ends as soon as the connection is lost (exit 3), not when its
// wait times out.
func TestWaitNoticesLostConnection(t *testing.T) {
	snaps := &snapshotCounter{}
	e := ct.Start(t, ct.Plugin(t, "echo", ct.Bin("echo"), ""), ct.Options{Server: func(s *control.Server) {
		snaps.API = s.API
		s.API = snaps
	}})
	e.WaitState("echo", supervisor.StateRunning)
	before := snaps.n.Load()
	s := writeScript(t, "wait echo stopped timeout 60s\n")
	done := make(chan result, 1)
	go func() { done <- ctlRun(t, e, "run", s) }()
	ct.WaitUntil(t, "ctl run to connect", 10*time.Second, func() bool { return e.Server.Stats().Conns == 1 })
	ct.WaitUntil(t, "the wait's polling (two snapshots)", 10*time.Second, func() bool { return snaps.n.Load() >= before+2 })
	e.StopServer()
	select {
	case r := <-done:
		r.wantErr(t, ctl.ExitUnreachable, "control connection closed")
		r.want(t, ctl.ExitUnreachable, s+":1: wait echo stopped timeout 60s: snapshot: control connection closed")
	case <-time.After(15 * time.Second):
		t.Fatal("ctl run still waiting 15s after its connection was lost")
	}
}

// TestSendTooLarge: content too large for a frame is the operation failing
// (exit 1, saying so), not a lost connection (exit 3).
func TestSendTooLarge(t *testing.T) {
	e := ct.Start(t, ct.Plugin(t, "echo", ct.Bin("echo"), ""), ct.Options{})
	e.WaitState("echo", supervisor.StateRunning)
	ctlRun(t, e, "send", "echo", "1", strings.Repeat("x", 5<<20)).
		wantErr(t, ctl.ExitFailed, "send_task request not sent: frame too large")
}

// snapshotCounter counts the Snapshot calls the control server makes.
type snapshotCounter struct {
	supervisor.API
	n atomic.Int64
}

func (c *snapshotCounter) Snapshot(ctx context.Context) ([]supervisor.PluginStatus, error) {
	c.n.Add(1)
	return c.API.Snapshot(ctx)
}
