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

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// maxRejectReason is the bound PROTOCOL.md section 10 puts on reject.reason.
const maxRejectReason = 512

// TestStrangerRefusedUnread: a connection from a process in no plugin's
// group is refused with a reason before a byte of it is read, whatever it
// sends, and disturbs no plugin.
func TestStrangerRefusedUnread(t *testing.T) {
	h := startHarness(t, plugin(t, "echo", supervisortest.Bin("echo"), ""))
	before := h.WaitState("echo", supervisor.StateRunning)
	versions := protocol.Versions()
	frames := []struct {
		name  string
		frame []byte
	}{
		{"no pid", rawFrame("kind", "hello", "versions", versions, "name", "echo")},
		{"empty versions", rawFrame("kind", "hello", "versions", []uint16{}, "name", "echo", "pid", os.Getpid())},
		{"not a map", []byte{0, 0, 0, 1, 0xc1}},
		{"huge unknown kind", rawFrame("kind", strings.Repeat("k", 10_000))},
		{"a 4 MiB length prefix", []byte{0, 0x40, 0, 0}},
		{"not a hello", rawFrame("kind", "ping", "seq", 1, "time", 1)},
		{"a valid hello", rawFrame("kind", "hello", "versions", versions, "name", "echo", "pid", os.Getpid())},
	}
	for _, c := range frames {
		t.Run(c.name, func(t *testing.T) {
			rej := dialRaw(t, h, c.frame)
			if rej.Code != protocol.RejectCredentials || !strings.Contains(rej.Reason, "process group") {
				t.Fatalf("reject %+v; want credentials, about the process group", rej)
			}
			if len(rej.Reason) > maxRejectReason {
				t.Fatalf("reason of %d bytes; at most %d", len(rej.Reason), maxRejectReason)
			}
		})
	}
	if st := h.Status("echo"); st.State != supervisor.StateRunning || st.PID != before.PID || st.Restarts != 0 {
		t.Fatalf("a stranger disturbed echo: %s pid %d→%d", st.State, before.PID, st.PID)
	}
	if info := supervisortest.InfoOf(t, h.Sup); info.RefusedConns != uint64(len(frames)) {
		t.Fatalf("refused connections %d, want %d", info.RefusedConns, len(frames))
	}
}

// TestBadHelloFromOwnProcessIsPermanent: a first frame from the plugin's own
// process that is not a valid hello gets a bad_hello reject with a bounded
// reason, and the plugin, which would send it again after a restart, is
// failed at once.
func TestBadHelloFromOwnProcessIsPermanent(t *testing.T) {
	for role, want := range map[string]string{"nopid": "pid", "noversions": "versions", "notamap": "malformed",
		"hugekind": "unknown message kind", "pingfirst": "not ping", "hugeversion": "frame too large"} {
		t.Run(role, func(t *testing.T) {
			h := startHarness(t, plugin(t, "bad", self(), `restart = "always"`+"\nenv = { PV_TEST_ROLE = \""+role+"\" }"))
			st := h.WaitState("bad", supervisor.StateFailed)
			for _, w := range []string{"permanent", "bad hello", want} {
				if !strings.Contains(st.Reason, w) {
					t.Fatalf("reason %q lacks %q", st.Reason, w)
				}
			}
			if st.Restarts != 0 {
				t.Fatalf("a bad hello was retried %d times", st.Restarts)
			}
			line := waitLog(t, h, "bad", "rejected: bad_hello")
			if len(line) > len("rejected: bad_hello: ")+maxRejectReason {
				t.Fatalf("reason of %d bytes; at most %d: %.100s", len(line), maxRejectReason, line)
			}
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
	// A peer refused unread may find the connection closed while it still
	// writes; its reject is waiting to be read all the same.
	if _, err := c.Write(frame); err != nil && !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
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
func waitLog(t *testing.T, h *harness, name, text string) string {
	t.Helper()
	var line string
	supervisortest.WaitUntil(t, fmt.Sprintf("%q in the logs of %s", text, name), 10*time.Second, func() bool {
		logs, _ := h.Sup.Logs(context.Background(), name, 100)
		for _, l := range logs {
			if strings.Contains(l.Text, text) {
				line = l.Text
				return true
			}
		}
		return false
	})
	return line
}
