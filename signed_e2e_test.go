package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/testutil"
)

// TestSignedPluginRelease is a release with the binary's own tools: keygen
// makes a key, sign signs the plugin for its name and version, check
// prints the key that signed it, and a supervisor runs it with no sha256
// in the config, its status telling the signer.
func TestSignedPluginRelease(t *testing.T) {
	home, tmp := t.TempDir(), t.TempDir()
	self := testutil.Bin("plugvisor")
	pub, sec := filepath.Join(tmp, "release.pub"), filepath.Join(tmp, "release.key")
	out := plugvisor(t, "keygen", "-W", "-p", pub, "-s", sec)
	// An id is printed without leading zeros, as minisign does: one key
	// in sixteen has fewer than 16 digits.
	m := regexp.MustCompile(`^key ([0-9A-F]{1,16}):`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("keygen said:\n%s", out)
	}
	id := m[1]
	exe := filepath.Join(tmp, "echo")
	testutil.CopyExecutable(t, self, exe)
	plugvisor(t, "sign", "-s", sec, "-name", "echo", "-version", "1.0.0", exe)
	work, cfg := filepath.Join(tmp, "w"), filepath.Join(tmp, "config.toml")
	writeFile(t, cfg, fmt.Sprintf(`[agent]
work_dir = %q
[trust]
require_signature = true
[trust.keys.release]
public_key_file = %q
plugins = ["echo"]
[plugins.echo]
exec = %q
args = ["plugin", "echo"]
`, work, pub, exe))
	out = plugvisor(t, "check", "--config", cfg)
	if !strings.Contains(out, "sha256 "+sha(t, exe)) || !strings.Contains(out, "signed by key "+id+" (trust.keys.release), version 1.0.0") {
		t.Fatalf("check:\n%s", out)
	}
	cmd, _, stderr := startHeadless(t, demoEnv(home, tmp), "--config", cfg)
	stderr.waitFor(t, "instance=echo from=starting to=running", "control socket listening")
	status := plugvisor(t, "ctl", "--socket", filepath.Join(work, "plugvisor.ctl.sock"), "status", "--json")
	for _, want := range []string{`"sha256":"` + sha(t, exe) + `"`, `"signer_key_id":"` + id + `"`, `"signer_key_name":"release"`,
		`"signed_comment":"plugvisor-plugin name=echo version=1.0.0 time=`, `"signed_at":"`} {
		if !strings.Contains(status, want) {
			t.Errorf("ctl status --json lacks %s:\n%s", want, status)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// plugvisor runs the binary with args and returns its output; failing
// fails the test.
func plugvisor(t *testing.T, args ...string) string {
	t.Helper()
	_, out, err := testutil.CombinedOutput(func() *exec.Cmd {
		c := exec.Command(testutil.Bin("plugvisor"), args...)
		c.WaitDelay = 10 * time.Second
		return c
	})
	if err != nil {
		t.Fatalf("plugvisor %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
