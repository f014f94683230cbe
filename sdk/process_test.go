package sdk_test

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/sdk"
	"github.com/plugvisor/plugvisor/sdk/sdktest"
)

// These tests run the echo example as a real process, because signals and
// exit codes belong to processes.

func TestSIGTERMSaysGoodbye(t *testing.T) {
	sv := sdktest.New(t)
	p := sdktest.Exec(t, sv.Command(exampleBinary(t, "echo"), "echo"))
	c := sv.Connect()
	if c.Hello.PID != p.Pid() {
		t.Errorf("hello pid %d, process %d", c.Hello.PID, p.Pid())
	}
	if r := c.WaitReply(c.Task(1, "up?")); r.Final.Fields["content"] != "up?" {
		t.Fatalf("echo reply = %v", r.Final.Fields)
	}
	p.Signal(syscall.SIGTERM)
	if gb := c.WaitGoodbye(); gb.Reason != "signal: terminated" {
		t.Errorf("goodbye = %q, want signal: terminated", gb.Reason)
	}
	if code := p.WaitExit(); code != sdk.ExitOK {
		t.Errorf("exit code %d, want %d", code, sdk.ExitOK)
	}
}

func TestExitOnConnectionLoss(t *testing.T) {
	sv := sdktest.New(t)
	p := sdktest.Exec(t, sv.Command(exampleBinary(t, "echo"), "echo"))
	c := sv.Connect()
	c.WaitReply(c.Task(1, "x"))
	c.Close()
	sv.Close()
	if code := p.WaitExit(); code != sdk.ExitConnLost {
		t.Errorf("exit code %d, want %d", code, sdk.ExitConnLost)
	}
	p.Stderr.WaitContaining(t, "connection to the supervisor lost")
}

func TestExitWhenSupervisorFallsSilent(t *testing.T) {
	sv := sdktest.New(t)
	p := sdktest.Exec(t, sv.Command(exampleBinary(t, "echo"), "echo"))
	c := sv.Accept()
	w := sdktest.DefaultWelcome()
	w.Heartbeat = 50 * time.Millisecond
	c.Welcome(w)
	c.WaitPings(1)
	c.Pause() // no pongs, nothing at all: a hung supervisor
	if code := p.WaitExit(); code != sdk.ExitConnLost {
		t.Errorf("exit code %d, want %d", code, sdk.ExitConnLost)
	}
	p.Stderr.WaitContaining(t, "nothing from the supervisor")
	if _, ok := c.Goodbye(); ok {
		t.Error("goodbye sent to a silent supervisor")
	}
}

func TestRejectedProcessExitCode(t *testing.T) {
	sv := sdktest.New(t)
	p := sdktest.Exec(t, sv.Command(exampleBinary(t, "echo"), "echo"))
	sv.Accept().Reject(protocol.RejectCredentials, "uid mismatch")
	if code := p.WaitExit(); code != sdk.ExitRejected {
		t.Errorf("exit code %d, want %d", code, sdk.ExitRejected)
	}
	p.Stderr.WaitContaining(t, "uid mismatch")
}

func TestStandalone(t *testing.T) {
	cmd := exec.Command(exampleBinary(t, "echo"))
	cmd.Env = sdktest.CleanEnviron()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := sdktest.Exec(t, cmd)
	p.Stderr.WaitContaining(t, "running standalone")
	io.WriteString(stdin, `{"id":1,"content":"hi"}`+"\n"+"not json\n"+`{"id":7,"content":"tok","token":"mine"}`+"\n")

	lines := p.Stdout.WaitLines(t, "two records", func(l []string) bool { return len(l) >= 2 })
	want := map[string]string{"stdin-1": "hi", "mine": "tok"}
	for _, line := range lines {
		var rec struct {
			Timestamp int64             `json:"timestamp"`
			Token     string            `json:"token"`
			Fields    map[string]string `json:"fields"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		f := rec.Fields
		if f["content"] != want[rec.Token] || f["data_type"] != "echo" || f["task_status"] != "ok" || rec.Timestamp == 0 {
			t.Errorf("record %q: want echo of %q", line, want[rec.Token])
		}
		delete(want, rec.Token)
	}
	if len(want) > 0 {
		t.Errorf("no reply for %v", want)
	}
	if line := p.Stderr.WaitContaining(t, "stdin line 2"); !strings.Contains(line, "invalid task") {
		t.Errorf("stderr %q does not explain the bad line", line)
	}

	stdin.Close() // end of tasks, not of the plugin
	p.Stderr.WaitContaining(t, "end of stdin")
	p.Signal(syscall.SIGINT)
	if code := p.WaitExit(); code != sdk.ExitOK {
		t.Errorf("exit code %d, want 0", code)
	}
}

// Once shutdown has begun the signals are let go: a second Ctrl-C ends a
// plugin whose final flush is stuck on a stdout nobody reads (a paused
// pager), instead of being swallowed.
func TestSecondSignalEndsStuckShutdown(t *testing.T) {
	stalled, out, err := os.Pipe() // never read
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stalled.Close() })
	cmd := exec.Command(exampleBinary(t, "echo"))
	cmd.Env = sdktest.CleanEnviron()
	cmd.Stdout = out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := sdktest.Exec(t, cmd)
	out.Close() // the child has its copy
	p.Stderr.WaitContaining(t, "running standalone")
	// Far more output than a pipe holds: the writer blocks on stdout.
	task := `{"id":1,"content":"` + strings.Repeat("x", 32<<10) + `"}` + "\n"
	if _, err := io.WriteString(stdin, strings.Repeat(task, 200)); err != nil {
		t.Fatal(err)
	}
	p.Signal(syscall.SIGINT)
	p.Stderr.WaitContaining(t, `msg="shutting down"`) // logged once the signals are let go
	p.Signal(syscall.SIGINT)
	// Had the second SIGINT been swallowed, the plugin would end when its
	// grace (sdk.DefaultGrace) gives up on the stuck writer, with an exit
	// code: being killed by the signal is the proof it was let go, with no
	// claim about how fast the kill is.
	st := p.Wait()
	if ws, ok := st.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
		t.Errorf("process ended with %v, want killed by the second SIGINT", st)
	}
}
