package testutil

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// CopyExecutable copies the program at from to to (mode 0755), for a test
// that runs it as another user, who cannot reach the build's own 0700
// directory.
func CopyExecutable(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// CombinedOutput runs the command made by mk, again while exec fails with
// ETXTBSY: a file just written is "busy" to exec as long as any child forked
// meanwhile, by anything in this process, still holds the writer's
// descriptor, which it drops at its own exec (Go issue 22315). A new
// command each time: one cannot be started twice.
func CombinedOutput(mk func() *exec.Cmd) (*exec.Cmd, []byte, error) {
	for range 200 {
		cmd := mk()
		out, err := cmd.CombinedOutput()
		if !errors.Is(err, syscall.ETXTBSY) {
			return cmd, out, err
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd := mk()
	out, err := cmd.CombinedOutput()
	return cmd, out, err
}
