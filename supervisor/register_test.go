package supervisor_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// maxRejectReason is the bound PROTOCOL.md section 10 puts on reject.reason.
const maxRejectReason = 512

// TestBadHelloRejected: a first frame that is not a valid hello gets a
// bad_hello reject with a bounded reason, not just the end of the
// connection, and a connection nobody started disturbs no plugin.
func TestBadHelloRejected(t *testing.T) {
	h := startHarness(t, plugin(t, "echo", supervisortest.Bin("echo"), ""))
	before := h.WaitState("echo", supervisor.StateRunning)
	versions := protocol.Versions()
	for _, c := range []struct {
		name  string
		frame []byte
		want  string // in the reason
	}{
		{"no pid", rawFrame("kind", "hello", "versions", versions, "name", "echo"), "pid"},
		{"empty versions", rawFrame("kind", "hello", "versions", []uint16{}, "name", "echo", "pid", os.Getpid()), "versions"},
		{"not a map", []byte{0, 0, 0, 1, 0xc1}, "malformed"},
		{"huge unknown kind", rawFrame("kind", strings.Repeat("k", 10_000)), "unknown message kind"},
		{"not a hello", rawFrame("kind", "ping", "seq", 1, "time", 1), "not ping"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rej := dialRaw(t, h, c.frame)
			if rej.Code != protocol.RejectBadHello || !strings.Contains(rej.Reason, c.want) {
				t.Fatalf("reject %+v; want bad_hello naming %q", rej, c.want)
			}
			if len(rej.Reason) > maxRejectReason {
				t.Fatalf("reason of %d bytes; at most %d", len(rej.Reason), maxRejectReason)
			}
		})
	}
	if st := h.Status("echo"); st.State != supervisor.StateRunning || st.PID != before.PID || st.Restarts != 0 {
		t.Fatalf("a stranger's bad hello disturbed echo: %s pid %d→%d", st.State, before.PID, st.PID)
	}
}

// TestBadHelloFromOwnProcessIsPermanent: the plugin's own process sending a
// hello the decoder refuses would send it again after a restart, so the
// plugin is failed at once, and it is told why.
func TestBadHelloFromOwnProcessIsPermanent(t *testing.T) {
	for role, field := range map[string]string{"nopid": "pid", "noversions": "versions"} {
		t.Run(role, func(t *testing.T) {
			h := startHarness(t, plugin(t, "bad", self(), `restart = "always"`+"\nenv = { PV_TEST_ROLE = \""+role+"\" }"))
			st := h.WaitState("bad", supervisor.StateFailed)
			for _, want := range []string{"permanent", "bad hello", field} {
				if !strings.Contains(st.Reason, want) {
					t.Fatalf("reason %q lacks %q", st.Reason, want)
				}
			}
			if st.Restarts != 0 {
				t.Fatalf("a bad hello was retried %d times", st.Restarts)
			}
			waitLog(t, h, "bad", "rejected: bad_hello")
		})
	}
}

// TestDescendantInGroupRegisters: a plugin may be a wrapper (a shell script
// here) whose child, in the same process group, is the one that connects.
// Its hello.pid is its own pid, which is the peer's.
func TestDescendantInGroupRegisters(t *testing.T) {
	wrapper := script(t, supervisortest.Bin("echo")+"\nexit $?")
	h := startHarness(t, plugin(t, "wrapped", wrapper, ""))
	st := h.WaitState("wrapped", supervisor.StateRunning)
	kids := children(st.PID)
	if len(kids) != 1 {
		t.Fatalf("the wrapper (pid %d) has children %v; want the echo it started", st.PID, kids)
	}
	child, _, _ := strings.Cut(kids[0], ":")
	if !strings.Contains(st.Reason, "registered (pid "+child+",") {
		t.Fatalf("reason %q: want the wrapper's child %s registered, not the wrapper %d", st.Reason, child, st.PID)
	}
	if r, err := h.Sup.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "wrapped", ID: 1, Content: "through the wrapper"}); err != nil || !r.Outcome.OK() {
		t.Fatalf("task through the wrapper: %+v, %v", r, err)
	}
}

// TestProtocolErrorGivesStopGrace: after a malformed frame the supervisor
// closes the connection and gives the plugin its stop grace to see the end
// of the stream and exit; one that stays gets SIGTERM, then SIGKILL.
func TestProtocolErrorGivesStopGrace(t *testing.T) {
	for role, want := range map[string]string{"garbage": "malformed", "wrongway": "unexpected message: task"} {
		t.Run(role+" leaves", func(t *testing.T) {
			h := startHarness(t, plugin(t, "bad", self(), `restart = "never"`+"\nenv = { PV_TEST_ROLE = \""+role+"\" }"))
			st := h.WaitState("bad", supervisor.StateExited)
			if st.LastExit.Signal != "" || st.LastExit.Code != 0 || !strings.Contains(st.Reason, want) {
				t.Fatalf("exit %+v, reason %q: want the plugin's own exit after the protocol error %q", st.LastExit, st.Reason, want)
			}
			waitLog(t, h, "bad", "disconnected")
		})
	}
	t.Run("garbage stays", func(t *testing.T) {
		h := startHarness(t, plugin(t, "bad", self(), `restart = "never"`+"\nenv = { PV_TEST_ROLE = \"garbage-stubborn\" }"))
		st := h.WaitState("bad", supervisor.StateExited)
		if st.LastExit.Signal != "killed" || !strings.Contains(st.Reason, "malformed") {
			t.Fatalf("exit %+v, reason %q: want SIGKILL after the grace", st.LastExit, st.Reason)
		}
		waitLog(t, h, "bad", "disconnected")
		waitLog(t, h, "bad", "ignored terminated")
	})
}

// dialRaw connects to the plugin socket, writes frame and returns the reject
// it gets, failing unless the connection then ends.
func dialRaw(t *testing.T, h *harness, frame []byte) *protocol.Reject {
	t.Helper()
	c, err := net.Dial("unix", filepath.Join(h.Dir, "plugvisor.sock"))
	if err != nil {
		t.Fatal(err)
	}
	conn := protocol.NewConn(c, protocol.Options{ReadTimeout: 10 * time.Second})
	defer conn.Close()
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	return expectReject(t, conn)
}

func expectReject(t *testing.T, conn *protocol.Conn) *protocol.Reject {
	t.Helper()
	m, err := conn.Recv()
	if err != nil {
		t.Fatalf("want a reject, got %v", err)
	}
	rej, ok := m.(*protocol.Reject)
	if !ok {
		t.Fatalf("want a reject, got %T", m)
	}
	if _, err := conn.Recv(); err == nil {
		t.Fatal("connection still open after reject")
	}
	return rej
}

// waitLog waits until a captured line of name contains text.
func waitLog(t *testing.T, h *harness, name, text string) {
	t.Helper()
	supervisortest.WaitUntil(t, fmt.Sprintf("%q in the logs of %s", text, name), 10*time.Second, func() bool {
		logs, _ := h.Sup.Logs(context.Background(), name, 100)
		for _, l := range logs {
			if strings.Contains(l.Text, text) {
				return true
			}
		}
		return false
	})
}
