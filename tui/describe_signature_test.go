package tui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"aead.dev/minisign"
	"github.com/charmbracelet/x/ansi"

	"github.com/plugvisor/plugvisor/internal/signing"
	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
	"github.com/plugvisor/plugvisor/tui/components/detail"
	"github.com/plugvisor/plugvisor/tui/render"
)

// TestDescribeSignature: the describe view of a plugin run on a signature
// says which key signed it, the trusted comment and how long ago.
func TestDescribeSignature(t *testing.T) {
	keys := t.TempDir()
	pub, sec, err := minisign.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	secText, _ := sec.MarshalText()
	secPath, sig := filepath.Join(keys, "release.key"), filepath.Join(keys, "echo.minisig")
	if err := os.WriteFile(secPath, secText, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := signing.Sign(secPath, supervisortest.Bin("echo"), sig, "echo", "1.0.0", time.Now().Add(-3*time.Hour), nil, nil); err != nil {
		t.Fatal(err)
	}
	r := startRigWith(t, func(tb testing.TB) string {
		return fmt.Sprintf("[trust]\n[trust.keys.release]\npublic_key = %q\nplugins = [\"echo\"]\n", pub.String()) +
			pluginTOML(tb, "echo", true, fmt.Sprintf("require_signature = true\nsignature = %q", sig))
	})
	r.waitState("echo", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 80, 30)
	c.waitFor("echo")
	c.press("d")
	id := registry.KeyID(pub.ID())
	s := c.waitFor("Describe echo", "Signature", "key "+id+" (trust.keys.release)", "plugvisor-plugin name=echo version=1.0.0 time=", "3h")
	for i, l := range strings.Split(s, "\n") {
		if w := ansi.StringWidth(l); w != 80 {
			t.Errorf("line %d is %d cells wide: %q", i+1, w, l)
		}
	}
	// The Info tab says it too: the signer, the version signed, its age.
	c.press("esc")
	c.press("4")
	c.waitFor("signer      key "+id+" (trust.keys.release)", "signed      version 1.0.0 · 3h", " ago (")
}

// A signature dated ahead of this host's clock says so rather than "<1s ago".
func TestSignedAge(t *testing.T) {
	if got := detail.SignedAge(3 * time.Hour); got != render.Age(3*time.Hour)+" ago" {
		t.Errorf("3h old: %q", got)
	}
	if got := detail.SignedAge(-2 * time.Hour); got != render.Age(2*time.Hour)+" in the future (the signer's clock is ahead of this host's)" {
		t.Errorf("2h ahead: %q", got)
	}
}
