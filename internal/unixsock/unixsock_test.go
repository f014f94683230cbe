package unixsock

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestListenMakesPrivateDirAndSocket(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	l, err := Listen(filepath.Join(dir, "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "s.sock"): 0o600} {
		st, err := os.Stat(path)
		if err != nil || st.Mode().Perm() != want {
			t.Fatalf("%s: %v %v, want %o", path, st.Mode(), err, want)
		}
	}
	c, err := net.Dial("unix", filepath.Join(dir, "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := l.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	cred, err := PeerCred(sc)
	if err != nil || int(cred.Pid) != os.Getpid() || int(cred.Uid) != os.Getuid() {
		t.Fatalf("peer %+v %v", cred, err)
	}
}

// A shared directory is refused and left exactly as it was: Listen must
// never chmod /tmp or /run.
func TestListenRefusesSharedDirUntouched(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	_, err := Listen(filepath.Join(dir, "s.sock"))
	if err == nil || !strings.Contains(err.Error(), "has mode 0777") {
		t.Fatalf("want a refusal naming the mode, got %v", err)
	}
	st, _ := os.Stat(dir)
	if st.Mode()&os.ModeSticky == 0 || st.Mode().Perm() != 0o777 {
		t.Fatalf("the directory was changed: %v", st.Mode())
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(t.TempDir(), link); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(filepath.Join(link, "s.sock")); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("a symlinked dir: %v", err)
	}
}

func TestListenStaleAndLiveSockets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "private", "s.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "another process is listening") {
		t.Fatalf("second listener: %v", err)
	}
	l.SetUnlinkOnClose(false)
	l.Close() // leaves a stale socket file behind, as a SIGKILL would
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	l2, err := Listen(path)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	l2.Close()
	long := "/tmp/" + strings.Repeat("x", MaxPath)
	if _, err := Listen(long); err == nil || !strings.Contains(err.Error(), "at most 107") {
		t.Fatalf("long path: %v", err)
	}
}
