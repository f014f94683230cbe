package ctl

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// nobodyUID is a uid that is not ours: Debian's nobody.
const nobodyUID = 65534

// listen serves a Unix socket at path until the test ends.
func listen(t *testing.T, path string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
}

// TestDemoSocketLookup: ctl dials a demo socket only in a directory that is
// ours, private and not a symlink, and only a socket of ours; a stale
// socket is passed over.
func TestDemoSocketLookup(t *testing.T) {
	env := func(runtime string) func(string) string {
		return func(k string) string { return map[string]string{"XDG_RUNTIME_DIR": runtime}[k] }
	}

	t.Run("stale and live", func(t *testing.T) {
		rt := t.TempDir()
		dir := filepath.Join(rt, "plugvisor")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		stale, err := net.Listen("unix", filepath.Join(dir, "demo.ctl.sock"))
		if err != nil {
			t.Fatal(err)
		}
		stale.(*net.UnixListener).SetUnlinkOnClose(false)
		stale.Close()
		live := filepath.Join(dir, "demo-7.ctl.sock")
		listen(t, live)
		if got, err := demoSocket(env(rt)); err != nil || got != live {
			t.Fatalf("demoSocket = %q, %v; want %s", got, err, live)
		}
	})

	t.Run("symlinked directory", func(t *testing.T) {
		rt, elsewhere := t.TempDir(), t.TempDir()
		listen(t, filepath.Join(elsewhere, "demo.ctl.sock"))
		if err := os.Symlink(elsewhere, filepath.Join(rt, "plugvisor")); err != nil {
			t.Fatal(err)
		}
		if got, err := demoSocket(env(rt)); err == nil || !strings.Contains(err.Error(), "symlink") {
			t.Fatalf("demoSocket = %q, %v; want a refusal", got, err)
		}
	})

	t.Run("writable by others", func(t *testing.T) {
		rt := t.TempDir()
		dir := filepath.Join(rt, "plugvisor")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		listen(t, filepath.Join(dir, "demo.ctl.sock"))
		if got, err := demoSocket(env(rt)); err == nil || !strings.Contains(err.Error(), "writable") {
			t.Fatalf("demoSocket = %q, %v; want a refusal", got, err)
		}
	})

	if os.Getuid() != 0 {
		t.Log("not root: the foreign-owner cases need chown")
		return
	}
	t.Run("directory of another uid", func(t *testing.T) {
		rt := t.TempDir()
		dir := filepath.Join(rt, "plugvisor")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		listen(t, filepath.Join(dir, "demo.ctl.sock"))
		if err := os.Chown(dir, nobodyUID, nobodyUID); err != nil {
			t.Fatal(err)
		}
		if got, err := demoSocket(env(rt)); err == nil || !strings.Contains(err.Error(), "owned by uid") {
			t.Fatalf("demoSocket = %q, %v; want a refusal", got, err)
		}
	})
	t.Run("socket of another uid", func(t *testing.T) {
		rt := t.TempDir()
		dir := filepath.Join(rt, "plugvisor")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		foreign, ours := filepath.Join(dir, "demo-1.ctl.sock"), filepath.Join(dir, "demo-2.ctl.sock")
		listen(t, foreign)
		listen(t, ours)
		if err := os.Lchown(foreign, nobodyUID, nobodyUID); err != nil {
			t.Fatal(err)
		}
		if got, err := demoSocket(env(rt)); err != nil || got != ours {
			t.Fatalf("demoSocket = %q, %v; want %s", got, err, ours)
		}
	})
}
