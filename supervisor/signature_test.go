package supervisor_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"aead.dev/minisign"

	"github.com/plugvisor/plugvisor/internal/signing"
	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// releaseKey is a minisign key pair with its secret key in a file, as a
// release pipeline holds it.
type releaseKey struct {
	pub minisign.PublicKey
	sec string
}

func newReleaseKey(t testing.TB, dir, name string) releaseKey {
	t.Helper()
	pub, sec, err := minisign.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := sec.MarshalText()
	path := filepath.Join(dir, name+".key")
	if err := os.WriteFile(path, text, 0o600); err != nil {
		t.Fatal(err)
	}
	return releaseKey{pub: pub, sec: path}
}

func (k releaseKey) id() string { return registry.KeyID(k.pub.ID()) }

// sign signs file for plugin name at version, into sig.
func (k releaseKey) sign(t testing.TB, file, sig, name, version string) {
	t.Helper()
	if _, err := signing.Sign(k.sec, file, sig, name, version, time.Now(), nil, nil); err != nil {
		t.Fatal(err)
	}
}

// Only what a trusted key signed for that plugin runs: each other case is
// refused with a reason naming it, and the plugins that run are untouched.
func TestOnlySignedPluginsRun(t *testing.T) {
	bins := supervisortest.ShortDir(t)
	trusted, stranger := newReleaseKey(t, bins, "trusted"), newReleaseKey(t, bins, "stranger")
	revoked, expired := newReleaseKey(t, bins, "revoked"), newReleaseKey(t, bins, "expired")
	put := func(name string) string {
		exe := filepath.Join(bins, name)
		copyFile(t, supervisortest.Bin("echo"), exe)
		return exe
	}
	cases := []struct {
		name   string
		signer *releaseKey
		signed string // the plugin name the signature is for
		reason string
	}{
		{"good", &trusted, "good", ""},
		{"other", &trusted, "other", ""},
		{"unsigned", nil, "", "unsigned: no signature at " + bins + "/unsigned.minisig"},
		{"untrusted", &stranger, "untrusted", "untrusted key: " + bins + "/untrusted.minisig is signed by key " + stranger.id() + ", which is not in [trust.keys]"},
		{"revoked", &revoked, "revoked", "revoked key: " + bins + "/revoked.minisig is signed by key " + revoked.id() + " (trust.keys.revoked), which is revoked"},
		{"renamed", &trusted, "good", "signed for another plugin: " + bins + "/renamed.minisig is a signature of plugin good, not renamed"},
		{"expired", &expired, "expired", "key outside its validity window: key " + expired.id() + " (trust.keys.old) is valid from any time until 2020-01-01T00:00:00Z"},
		{"swapped", &trusted, "swapped", ""},
	}
	var plugins strings.Builder
	fmt.Fprintf(&plugins, `[trust]
require_signature = true
revoked_keys = [%q]
[trust.keys.release]
public_key = %q
plugins = ["*"]
[trust.keys.revoked]
public_key = %q
plugins = ["*"]
[trust.keys.old]
public_key = %q
not_after = 2020-01-01T00:00:00Z
plugins = ["*"]
`, revoked.id(), trusted.pub.String(), revoked.pub.String(), expired.pub.String())
	for _, c := range cases {
		exe := put(c.name)
		if c.signer != nil {
			c.signer.sign(t, exe, exe+".minisig", c.signed, "2.0.0")
		}
		auto := c.name != "swapped"
		fmt.Fprintf(&plugins, "[plugins.%s]\nexec = %q\nrestart = \"never\"\nauto_start = %v\n", c.name, exe, auto)
	}
	h := startHarness(t, plugins.String())
	good := h.WaitState("good", supervisor.StateRunning)
	before := h.WaitState("other", supervisor.StateRunning)
	if good.SignerKeyID != trusted.id() || good.SignerKeyName != "release" || good.SHA256 != supervisortest.SHA256(t, good.Exec) ||
		!strings.HasPrefix(good.SignedComment, "plugvisor-plugin name=good version=2.0.0 time=") || time.Since(good.SignedAt) > time.Hour {
		t.Fatalf("good's signature in its status: %+v", good)
	}
	for _, c := range cases {
		if c.reason == "" {
			continue
		}
		st := h.WaitState(c.name, supervisor.StateFailed)
		if !strings.Contains(st.Reason, c.reason) {
			t.Errorf("%s: reason %q\nwant it to contain %q", c.name, st.Reason, c.reason)
		}
	}

	// Swapped after check: what check approved is not what runs.
	var out bytes.Buffer
	_ = registry.Check(h.Config, &out) // the refused plugins fail it
	if !strings.Contains(out.String(), "swapped") || !lineHas(out.String(), "ok", "swapped", "signed by key "+trusted.id()+" (trust.keys.release), version 2.0.0") {
		t.Fatalf("check:\n%s", out.String())
	}
	if !lineHas(out.String(), "FAIL", "untrusted", "untrusted key: ", "is signed by key "+stranger.id()) {
		t.Errorf("check does not refuse the untrusted plugin:\n%s", out.String())
	}
	other := filepath.Join(bins, "other-build")
	if err := os.WriteFile(other, []byte("another build"), 0o700); err != nil {
		t.Fatal(err)
	}
	trusted.sign(t, other, filepath.Join(bins, "swapped.minisig"), "swapped", "2.0.0")
	_ = h.Sup.Start(context.Background(), "swapped")
	st := h.WaitState("swapped", supervisor.StateFailed)
	if !strings.Contains(st.Reason, "bad signature: "+bins+"/swapped.minisig: does not verify with key "+trusted.id()+": the executable is not what it signed") {
		t.Errorf("swapped: reason %q", st.Reason)
	}

	// An older signed version than the one run is refused, naming both.
	trusted.sign(t, good.Exec, good.Exec+".minisig", "good", "1.9.0")
	_ = h.Sup.Restart(context.Background(), "good")
	st = h.WaitState("good", supervisor.StateFailed)
	if !strings.Contains(st.Reason, "downgrade refused: signed version 1.9.0 is older than version 2.0.0, the highest this host has run") {
		t.Errorf("downgrade: reason %q", st.Reason)
	}
	// A plugin that was running through all of it still is, same process.
	if now := h.Status("other"); now.PID != before.PID || now.State != supervisor.StateRunning || now.Restarts != 0 {
		t.Errorf("other was disturbed: %+v", now)
	}
}

// lineHas says whether some line of text has every one of words, in order.
func lineHas(text string, words ...string) bool {
	for _, line := range strings.Split(text, "\n") {
		rest, ok := line, true
		for _, w := range words {
			i := strings.Index(rest, w)
			if i < 0 {
				ok = false
				break
			}
			rest = rest[i+len(w):]
		}
		if ok {
			return true
		}
	}
	return false
}

// A version record that cannot be read refuses the signed plugins it
// protects, naming the file, and nothing else: a plugin that does not
// need it (not signed, or allow_downgrade) runs, and once the record is
// removed the refused plugin starts, without restarting plugvisor.
func TestBrokenVersionRecord(t *testing.T) {
	bins := supervisortest.ShortDir(t)
	key := newReleaseKey(t, bins, "release")
	var conf strings.Builder
	fmt.Fprintf(&conf, "[trust]\nrequire_signature = true\n[trust.keys.release]\npublic_key = %q\nplugins = [\"*\"]\n", key.pub.String())
	for _, name := range []string{"signed", "lenient", "plain"} {
		exe := filepath.Join(bins, name)
		copyFile(t, supervisortest.Bin("echo"), exe)
		fmt.Fprintf(&conf, "[plugins.%s]\nexec = %q\nrestart = \"never\"\n", name, exe)
		switch name {
		case "plain":
			fmt.Fprintf(&conf, "require_signature = false\nsha256 = %q\n", supervisortest.SHA256(t, exe))
		case "lenient":
			conf.WriteString("allow_downgrade = true\n")
			fallthrough
		default:
			key.sign(t, exe, exe+".minisig", name, "1.0.0")
		}
	}
	var record string
	h := startHarness(t, conf.String(), func(o *supervisor.Options) {
		record = filepath.Join(o.Config.Agent.WorkDir, registry.VersionsFile)
		if err := os.WriteFile(record, []byte("{not json"), 0o600); err != nil {
			t.Fatal(err)
		}
	})
	h.WaitState("plain", supervisor.StateRunning)
	h.WaitState("lenient", supervisor.StateRunning)
	st := h.WaitState("signed", supervisor.StateFailed)
	if !strings.Contains(st.Reason, "version record unreadable: "+record+": ") || !strings.Contains(st.Reason, "remove it to forget every version recorded") {
		t.Errorf("reason %q", st.Reason)
	}
	if data, err := os.ReadFile(record); err != nil || string(data) != "{not json" {
		t.Errorf("the broken record was rewritten: %q %v", data, err)
	}
	if err := os.Remove(record); err != nil {
		t.Fatal(err)
	}
	if err := h.Sup.Start(context.Background(), "signed"); err != nil {
		t.Fatal(err)
	}
	h.WaitState("signed", supervisor.StateRunning)
}
