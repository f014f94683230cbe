package fds_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/plugvisor/plugvisor/internal/fds"
)

// TestInheritedDescriptorsStayHere: a descriptor without close-on-exec is
// passed to every child until CloseOnExecInherited marks it; after that a
// child sees only its standard streams, while this process keeps it open.
func TestInheritedDescriptorsStayHere(t *testing.T) {
	t.Run("close_range", func(t *testing.T) { testMark(t, fds.CloseOnExecInherited) })
	t.Run("walk /proc/self/fd", func(t *testing.T) { testMark(t, fds.Walk) })
}

func testMark(t *testing.T, mark func() error) {
	f, err := os.CreateTemp(t.TempDir(), "secret")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd, err := unix.Dup(int(f.Fd())) // Dup's copy is not close-on-exec, as an inherited one is not
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	listed := func() string {
		out, err := exec.Command("ls", "-l", "/proc/self/fd/").CombinedOutput()
		if err != nil {
			t.Fatalf("ls: %v\n%s", err, out)
		}
		return string(out)
	}
	if s := listed(); !strings.Contains(s, f.Name()) {
		t.Fatalf("the test's premise: the child should see %s before the fix:\n%s", f.Name(), s)
	}
	if err := mark(); err != nil {
		t.Fatal(err)
	}
	if s := listed(); strings.Contains(s, f.Name()) {
		t.Fatalf("the child still sees %s:\n%s", f.Name(), s)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		t.Fatalf("the descriptor itself was closed: %v", err)
	}
}
