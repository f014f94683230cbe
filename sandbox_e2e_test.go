package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/internal/sandbox"
	"github.com/plugvisor/plugvisor/supervisor"
)

// TestSandboxReadOnly: a plugin with [plugins.X.sandbox] read_only = [A]
// reads A's files and no other of the test's: reading B fails with
// permission denied, while the same file is readable to an unsandboxed
// plugin beside it, so the refusal is the sandbox's. The refused read
// costs the plugin nothing: it keeps running.
func TestSandboxReadOnly(t *testing.T) {
	tmp := t.TempDir()
	dirA, dirB := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	for _, d := range []string{dirA, dirB} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fileA, fileB := filepath.Join(dirA, "file"), filepath.Join(dirB, "file")
	writeFile(t, fileA, "readable\n")
	writeFile(t, fileB, "out of bounds\n")
	for _, f := range []string{fileA, fileB} {
		// Readable to nobody by the file's mode: a refusal is the sandbox's.
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A sandboxed plugin needs a user of its own (it would share its
	// Landlock domain with the supervisor's forking thread otherwise), and
	// that user must pass through the test's directories.
	openPassage(t, tmp)
	boxed := chaosPlugin(t, "boxed", "user = \"nobody\"\n[plugins.boxed.sandbox]\nread_only = ["+strconv.Quote(dirA)+"]")
	support := sandbox.Probe()
	if !support.Filesystem {
		// No Landlock: a plugin that asked for a sandbox must not run
		// without it.
		c := startContained(t, tmp, boxed+chaosPlugin(t, "free", ""), "free")
		st := c.waitStatus("boxed", "a refused start", func(s supervisor.PluginStatus) bool {
			return strings.Contains(s.LastExit.Reason, "sandbox")
		})
		if st.State == supervisor.StateRunning {
			t.Fatalf("boxed runs without a sandbox: %+v", st)
		}
		t.Logf("no Landlock here (%s): boxed refused to start: %s", support.Why, st.LastExit.Reason)
		return
	}
	t.Logf("sandbox: %s", support)
	c := startContained(t, tmp, boxed+chaosPlugin(t, "free", ""), "boxed", "free")
	st := c.status("boxed")
	if !st.Sandboxed || c.status("free").Sandboxed {
		t.Fatalf("sandboxed: boxed %v, free %v; want true, false", st.Sandboxed, c.status("free").Sandboxed)
	}
	if got := c.answer("boxed", 16, fileA); got["bytes"] != "9" {
		t.Fatalf("boxed read %s: %v, want 9 bytes", fileA, got)
	}
	for _, path := range []string{fileB, "/etc/passwd"} {
		r := c.send("boxed", 16, path)
		if r.Outcome != supervisor.OutcomeError || !strings.Contains(r.Error, "permission denied") {
			t.Fatalf("boxed read %s: %s %q, want an error reply with permission denied", path, r.Outcome, r.Error)
		}
		t.Logf("boxed read %s: %s", path, r.Error)
	}
	if got := c.answer("free", 16, fileB); got["bytes"] != "14" {
		t.Fatalf("free read %s: %v, want 14 bytes", fileB, got)
	}
	if got := c.answer("boxed", 16, fileA); got["bytes"] != "9" {
		t.Fatalf("boxed read %s after the refusals: %v", fileA, got)
	}
	if now := c.status("boxed"); now.State != supervisor.StateRunning || now.PID != st.PID || now.Restarts != 0 {
		t.Fatalf("boxed after the refused reads: %s pid %d (was %d), restarts %d", now.State, now.PID, st.PID, now.Restarts)
	}
}
