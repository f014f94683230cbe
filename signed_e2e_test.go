package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
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
	agent := fmt.Sprintf("[agent]\nwork_dir = %q\n", work)
	writeFile(t, cfg, agent+signedEcho(pub, exe, ""))
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
	// The table for people says it too, in SIGNER and SIGNED.
	table := plugvisor(t, "ctl", "--socket", filepath.Join(work, "plugvisor.ctl.sock"), "status")
	if !regexp.MustCompile(`RSS +SIGNER +SIGNED +LAST EXIT`).MatchString(table) || !regexp.MustCompile(`\becho +echo +running .* `+id+` \(release\) +1\.0\.0, (\d+m)?\d+s ago `).MatchString(table) {
		t.Errorf("ctl status does not show the signer:\n%s", table)
	}
	// Revoked by `ctl reload`: the running process is stopped, and why
	// names the key and the line that revoked it.
	writeFile(t, cfg, agent+signedEcho(pub, exe, fmt.Sprintf("revoked_keys = [%q]\n", id)))
	plugvisor(t, "ctl", "--socket", filepath.Join(work, "plugvisor.ctl.sock"), "reload")
	stderr.waitFor(t, "instance=echo from=stopping to=failed")
	status = plugvisor(t, "ctl", "--socket", filepath.Join(work, "plugvisor.ctl.sock"), "status", "--json")
	if want := "reloaded: no longer authorised: " + exe + ": revoked key: the running process was signed by key " + id + " (trust.keys.release), which is revoked (revoked at " + cfg + ":5)"; !strings.Contains(status, want) {
		t.Errorf("after ctl reload revoked its key, status lacks %q:\n%s", want, status)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// signedEcho is the [trust] of one release key, public key file pub, with
// more of [trust] after require_signature, and the echo plugin it signs.
func signedEcho(pub, exe, trust string) string {
	return fmt.Sprintf(`[trust]
require_signature = true
%s[trust.keys.release]
public_key_file = %q
plugins = ["echo"]
[plugins.echo]
exec = %q
args = ["plugin", "echo"]
`, trust, pub, exe)
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

// TestRecordOutOfReachOfAPluginOfItsOwn: a plugin with a user of its own
// (here nobody) is a real process that tries to delete, overwrite and
// rename the record of signed versions; each is refused by the kernel
// (the record is 0600, plugvisor's, in a work dir only plugvisor may
// write), and the record is as plugvisor wrote it. A plugin of
// plugvisor's own uid could do all three: TestTamperedVersionRecord, in
// the supervisor's tests, shows what plugvisor then does.
func TestRecordOutOfReachOfAPluginOfItsOwn(t *testing.T) {
	tmp := t.TempDir()
	if _, err := user.Lookup("nobody"); err != nil {
		t.Fatalf("this test needs a user nobody: %v", err)
	}
	openPassage(t, tmp)
	self := testutil.Bin("plugvisor")
	pub, sec := filepath.Join(tmp, "release.pub"), filepath.Join(tmp, "release.key")
	plugvisor(t, "keygen", "-W", "-p", pub, "-s", sec)
	exe := filepath.Join(tmp, "echo")
	testutil.CopyExecutable(t, self, exe)
	plugvisor(t, "sign", "-s", sec, "-name", "echo", "-version", "2.0.0", exe)
	work := filepath.Join(tmp, "w")
	record := filepath.Join(work, "signed-versions.json")
	tamper := filepath.Join(tmp, "tamper")
	writeFile(t, tamper, "#!/bin/sh\nrm -f \"$1\"; echo \"rm $?\"\nprintf '{}' > \"$1\"; echo \"write $?\"\nmv \"$1\" \"$1.x\"; echo \"mv $?\"\nexec sleep 600\n")
	if err := os.Chmod(tamper, 0o755); err != nil {
		t.Fatal(err)
	}
	c := startContained(t, tmp, signedEcho(pub, exe, "")+fmt.Sprintf(`[plugins.tamper]
exec = %q
args = [%q]
sha256 = %q
require_signature = false
user = "nobody"
auto_start = false
restart = "never"
`, tamper, record, sha(t, tamper)), "echo")
	written, err := os.ReadFile(record)
	if err != nil || !strings.Contains(string(written), `"echo": "2.0.0"`) {
		t.Fatalf("record: %q %v", written, err)
	}
	go func() { _, _ = c.ctl("start", "tamper") }()
	out := filepath.Join(work, "log", "tamper", "tamper.stdout.log")
	var said []byte
	if !testutil.Until(30*time.Second, func() bool { said, _ = os.ReadFile(out); return strings.Contains(string(said), "mv ") }) {
		t.Fatalf("the tampering plugin did not finish: %q\n%s", said, c.stderr.text())
	}
	if !regexp.MustCompile(`^rm [1-9]\d*\nwrite [1-9]\d*\nmv [1-9]\d*\n$`).Match(said) {
		t.Errorf("the plugin says %q; want each of rm, write and mv to have failed (a non-zero status)", said)
	}
	errs, _ := os.ReadFile(filepath.Join(work, "log", "tamper", "tamper.stderr.log"))
	if n := strings.Count(string(errs), "Permission denied"); n != 3 {
		t.Errorf("want three refusals by the kernel, got %d:\n%s", n, errs)
	}
	if data, err := os.ReadFile(record); err != nil || string(data) != string(written) {
		t.Errorf("the record changed: %q %v", data, err)
	}
}
