package sandbox_test

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/plugvisor/plugvisor/internal/sandbox"
)

// copyTo copies the program at src into dst.
func copyTo(t *testing.T, dst *os.File, src string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if _, err := io.Copy(dst, in); err != nil {
		t.Fatal(err)
	}
}

// A memfd lives on the kernel's internal shmem mount, outside every
// directory tree a rule could name, and Landlock allows what is reached
// there: a sandboxed plugin can run a program it was handed as a memfd,
// while the same bytes in a file outside its spec are refused.
func TestMemfdExecIsAllowed(t *testing.T) {
	if _, ok := landlock(t); !ok {
		return
	}
	fd, err := unix.MemfdCreate("echo", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatalf("memfd_create: %v", err)
	}
	memfd := os.NewFile(uintptr(fd), "memfd:echo")
	defer memfd.Close()
	copyTo(t, memfd, "/bin/echo")

	onDisk, err := os.OpenFile(filepath.Join(t.TempDir(), "echo"), os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	copyTo(t, onDisk, "/bin/echo")
	onDisk.Close()

	fromMemfd := exec.Command("/proc/self/fd/3", "from a memfd") // ExtraFiles[0] is fd 3
	fromMemfd.ExtraFiles = []*os.File{memfd}
	rs, _ := runSandboxed(t, sandbox.Base(), fromMemfd, exec.Command(onDisk.Name(), "from disk"))
	assertOK(t, "exec of a memfd copy of /bin/echo", rs[0], "from a memfd\n")
	if !errors.Is(rs[1].err, syscall.EACCES) {
		t.Errorf("exec of an on-disk copy outside the spec: want EACCES, got %s", rs[1])
	}
}
