package sandbox_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/internal/sandbox"
	"github.com/plugvisor/plugvisor/internal/testutil"
)

// reach is the helper that tries one connection, bind or signal.
func reach(args ...string) *exec.Cmd { return exec.Command(testutil.Bin("reach"), args...) }

// withReach is Base plus the helper's directory, so it may run.
func withReach() sandbox.Spec { return with([]string{filepath.Dir(testutil.Bin("reach"))}, nil) }

func listen(t *testing.T) (net.Listener, uint16) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, uint16(l.Addr().(*net.TCPAddr).Port)
}

// The kernel's words for the two denials, as reach prints them.
const (
	eacces = "permission denied"       // Landlock's refusal of a TCP port
	eperm  = "operation not permitted" // its refusal across a scope
)

// assertReach checks how one reach run ended: "ok" and exit 0 when allowed,
// else exit 3 and a "denied: …" naming the error denial.
func assertReach(t *testing.T, what string, r result, allowed bool, denial string) {
	t.Helper()
	if allowed {
		assertOK(t, what, r, "ok\n")
		return
	}
	exit, ok := r.err.(*exec.ExitError)
	if !ok || exit.ExitCode() != 3 || !strings.HasPrefix(r.stdout, "denied: ") || !strings.Contains(r.stdout, denial) {
		t.Errorf("%s: want denied with %q (exit 3), got %s", what, denial, r)
	}
}

func TestTCPConnectOnlyToListedPorts(t *testing.T) {
	s, ok := landlock(t)
	if !ok {
		return
	}
	listed, listedPort := listen(t)
	other, _ := listen(t)
	spec := withReach()
	spec.TCPConnect = []uint16{listedPort}
	rs, _ := runSandboxed(t, spec,
		reach("connect", listed.Addr().String()),
		reach("connect", other.Addr().String()),
	)
	assertReach(t, "connect to the listed port", rs[0], true, "")
	if !s.TCP {
		t.Logf("ABI %d has no TCP rules: tested that a sandbox without them still connects anywhere", s.ABI)
	} else {
		t.Logf("ABI %d: tested TCP connect rules", s.ABI)
	}
	assertReach(t, "connect to an unlisted port", rs[1], !s.TCP, eacces)
}

func TestTCPBindOnlyToListedPorts(t *testing.T) {
	s, ok := landlock(t)
	if !ok {
		return
	}
	// Bound already, so a sandbox that failed to refuse would get
	// EADDRINUSE, not a denial: Landlock checks before the address.
	taken, _ := listen(t)
	spec := withReach()
	spec.TCPBind = []uint16{0}
	rs, _ := runSandboxed(t, spec,
		reach("bind", "127.0.0.1:0"),
		reach("bind", taken.Addr().String()),
	)
	assertReach(t, "bind to a port the kernel picks (port 0 listed)", rs[0], true, "")
	if s.TCP {
		t.Logf("ABI %d: tested TCP bind rules", s.ABI)
		assertReach(t, "bind to an unlisted port", rs[1], false, eacces)
		return
	}
	t.Logf("ABI %d has no TCP rules: tested that a sandbox without them still binds", s.ABI)
	if rs[1].stdout == "ok\n" || rs[1].err == nil {
		t.Errorf("bind to a port in use succeeded: %s", rs[1])
	}
}

// A sandboxed plugin cannot signal the supervisor, nor reach an abstract
// unix socket it listens on; the same helper, unsandboxed, can.
func TestScopedSignalsAndAbstractSockets(t *testing.T) {
	s, ok := landlock(t)
	if !ok {
		return
	}
	name := "plugvisor-sandbox-test-" + strconv.Itoa(os.Getpid())
	l, err := net.Listen("unix", "@"+name)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	pid := strconv.Itoa(os.Getpid())
	rs, _ := runSandboxed(t, withReach(),
		reach("signal", pid),
		reach("abstract", name),
	)
	assertReach(t, "unsandboxed kill -0 of the test process", run(reach("signal", pid)), true, "")
	assertReach(t, "unsandboxed connect to its abstract socket", run(reach("abstract", name)), true, "")
	if s.Scope {
		t.Logf("ABI %d: tested signal and abstract-socket scoping", s.ABI)
	} else {
		t.Logf("ABI %d has no scoping: tested that a sandbox without it still signals and connects", s.ABI)
	}
	assertReach(t, "sandboxed kill -0 of the test process", rs[0], !s.Scope, eperm)
	assertReach(t, "sandboxed connect to its abstract socket", rs[1], !s.Scope, eperm)
}
