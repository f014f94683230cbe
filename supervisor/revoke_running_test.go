package supervisor_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// distinctEcho copies the echo plugin to dir/name with name appended, so
// each plugin has content of its own (an ELF runs with bytes after it).
func distinctEcho(t *testing.T, dir, name string) string {
	t.Helper()
	exe := filepath.Join(dir, name)
	data, err := os.ReadFile(supervisortest.Bin("echo"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, append(data, "\x00"+name...), 0o700); err != nil {
		t.Fatal(err)
	}
	return exe
}

// A reload that revokes what a running process was authorised by, or no
// longer trusts it, stops that process, leaves it failed (not restarted)
// with a reason naming what changed and where, and leaves every process
// still authorised running untouched: the same pid, no restart.
func TestReloadStopsWhatItNoLongerAuthorises(t *testing.T) {
	bins := supervisortest.ShortDir(t)
	keyA, keyB := newReleaseKey(t, bins, "a"), newReleaseKey(t, bins, "b")
	keyC, keyD := newReleaseKey(t, bins, "c"), newReleaseKey(t, bins, "d")
	exe := map[string]string{}
	for _, name := range []string{"bykey", "bydigest", "removed", "pattern", "unsigned", "adopted", "fine"} {
		exe[name] = distinctEcho(t, bins, name)
	}
	keyA.sign(t, exe["bykey"], exe["bykey"]+".minisig", "bykey", "1.0.0")
	keyB.sign(t, exe["bydigest"], exe["bydigest"]+".minisig", "bydigest", "1.0.0")
	keyC.sign(t, exe["removed"], exe["removed"]+".minisig", "removed", "1.0.0")
	keyD.sign(t, exe["pattern"], exe["pattern"]+".minisig", "pattern", "1.0.0")
	keyB.sign(t, exe["adopted"], exe["adopted"]+".minisig", "adopted", "1.0.0")
	keyB.sign(t, exe["fine"], exe["fine"]+".minisig", "fine", "1.0.0")
	revocations := filepath.Join(bins, "revoked.toml")
	if err := os.WriteFile(revocations, []byte("keys = []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	digest := supervisortest.SHA256(t, exe["bydigest"])

	config := func(after bool) string {
		var c strings.Builder
		fmt.Fprintf(&c, "[trust]\nrequire_signature = true\nrevocation_file = %q\n", revocations)
		if after {
			fmt.Fprintf(&c, "revoked_sha256 = [%q]\n", digest)
		}
		patterns := `["pattern"]`
		if after {
			patterns = `["other-*"]`
		}
		for _, k := range []struct {
			name, pub, plugins string
		}{{"a", keyA.pub.String(), `["*"]`}, {"b", keyB.pub.String(), `["*"]`}, {"c", keyC.pub.String(), `["*"]`}, {"d", keyD.pub.String(), patterns}} {
			if after && k.name == "c" {
				continue
			}
			fmt.Fprintf(&c, "[trust.keys.%s]\npublic_key = %q\nplugins = %s\n", k.name, k.pub, k.plugins)
		}
		for _, name := range []string{"bykey", "bydigest", "removed", "pattern", "unsigned", "adopted", "fine"} {
			fmt.Fprintf(&c, "[plugins.%s]\nexec = %q\nrestart = \"always\"\n", name, exe[name])
			if name == "unsigned" || name == "adopted" {
				// The pin stays: a changed one would replace the process.
				fmt.Fprintf(&c, "sha256 = %q\n", supervisortest.SHA256(t, exe[name]))
				if !after {
					c.WriteString("require_signature = false\n")
				}
			}
		}
		return c.String()
	}
	next := config(false)
	var work string
	h := startHarness(t, next, func(o *supervisor.Options) {
		work = o.Config.Agent.WorkDir
		o.Reload = reloadFrom(work, &next)
	})
	before := map[string]supervisor.PluginStatus{}
	for name := range exe {
		before[name] = h.WaitState(name, supervisor.StateRunning)
	}
	if err := os.WriteFile(revocations, []byte(fmt.Sprintf("# revoked after the leak\nkeys = [%q]\n", keyA.id())), 0o600); err != nil {
		t.Fatal(err)
	}
	next = config(true)
	if err := h.Sup.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}

	configFile := filepath.Join(work, "config.toml")
	stopped := map[string]string{
		"bykey":    "no longer authorised: " + exe["bykey"] + ": revoked key: the running process was signed by key " + keyA.id() + " (trust.keys.a), which is revoked (revoked at " + revocations + ":2)",
		"bydigest": "no longer authorised: " + exe["bydigest"] + ": revoked executable: the running process's sha256 " + digest + " is revoked (revoked at " + configFile + ":",
		"removed":  "no longer authorised: " + exe["removed"] + ": untrusted key: the running process was signed by key " + keyC.id() + " (trust.keys.c), which is no longer in [trust.keys]",
		"pattern":  "no longer authorised: " + exe["pattern"] + ": untrusted key: the running process was signed by key " + keyD.id() + " (trust.keys.d), which may now sign only other-*, not plugin pattern",
		"unsigned": "no longer authorised: plugin unsigned now requires a signature, and its running process (sha256 " + supervisortest.SHA256(t, exe["unsigned"]) + ") was started without one: ",
	}
	for name, reason := range stopped {
		st := h.Status(name)
		if st.State != supervisor.StateFailed || !strings.HasPrefix(st.Reason, "reloaded: "+reason) {
			t.Errorf("%s: %s %q\nwant failed, reason starting %q", name, st.State, st.Reason, "reloaded: "+reason)
		}
		if ev := supervisortest.WaitStateEvent(t, h.Sup, name, supervisor.StateFailed); ev.Reason != st.Reason {
			t.Errorf("%s: the event says %q, the status %q", name, ev.Reason, st.Reason)
		}
		if alive(before[name].PID) {
			t.Errorf("%s: pid %d still runs", name, before[name].PID)
		}
	}
	if st := h.Status("unsigned"); !strings.Contains(st.Reason, "unsigned: no signature at "+exe["unsigned"]+".minisig") {
		t.Errorf("unsigned: reason %q does not say why the executable on disk does not do", st.Reason)
	}
	for _, name := range []string{"fine", "adopted"} {
		if st := h.Status(name); st.State != supervisor.StateRunning || st.PID != before[name].PID || st.Restarts != 0 {
			t.Errorf("%s was disturbed: %+v", name, st)
		}
	}
	if st := h.Status("adopted"); st.SignerKeyID != keyB.id() || st.SignerKeyName != "b" {
		t.Errorf("adopted: the signature that now authorises it is not shown: %+v", st)
	}

	// Stopped for good: restart = "always" does not bring it back, and an
	// operator's start is refused for the same revocation.
	err := h.Sup.Start(context.Background(), "bykey")
	if err == nil || !strings.Contains(err.Error(), "revoked key: "+exe["bykey"]+".minisig is signed by key "+keyA.id()+" (trust.keys.a), which is revoked (revoked at "+revocations+":2)") {
		t.Errorf("start after the revocation: %v", err)
	}
}

// alive says whether pid still names a process that is not a zombie.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z"
}
