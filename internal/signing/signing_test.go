package signing

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/plugvisor/plugvisor/registry"
)

// minisignTool is the reference minisign, which .ci/run installs: these
// tests prove plugvisor's signatures are minisign's, both ways.
func minisignTool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("minisign")
	if err != nil {
		t.Fatalf("the reference minisign is needed (apt-get install minisign; .ci/run installs it): %v", err)
	}
	return path
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// plugin writes an executable and a config trusting the key in pub for
// it, and returns the plugin and its trust.
func plugin(t *testing.T, dir, pub string) (*registry.Plugin, *registry.Trust) {
	t.Helper()
	exe := filepath.Join(dir, "echo")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\necho signed\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := registry.Parse(filepath.Join(dir, "c.toml"), []byte(`
[trust]
require_signature = true
[trust.keys.release]
public_key_file = "`+pub+`"
plugins = ["echo"]
[plugins.echo]
exec = "echo"
version = "1.4.0"
`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Plugin("echo"), cfg.Trust
}

func TestMinisignToolSignatureVerifies(t *testing.T) {
	tool := minisignTool(t)
	dir := t.TempDir()
	pub, sec := filepath.Join(dir, "release.pub"), filepath.Join(dir, "release.key")
	run(t, tool, "-G", "-W", "-p", pub, "-s", sec)
	p, trust := plugin(t, dir, pub)
	comment := registry.Comment("echo", "1.4.0", time.Now())
	run(t, tool, "-S", "-s", sec, "-m", p.Exec, "-t", comment)
	exe := verified(t, p, trust)
	pubText, _ := os.ReadFile(pub)
	if exe.Signature.Comment != comment || !strings.Contains(string(pubText), "minisign public key "+exe.Signature.KeyID+"\n") {
		t.Errorf("signature %+v; minisign's public key file:\n%s", exe.Signature, pubText)
	}
	// minisign's legacy signatures (-l) are refused with a way out.
	run(t, tool, "-S", "-l", "-s", sec, "-m", p.Exec, "-t", comment)
	v := registry.NewVerifier()
	defer v.Close()
	if _, err := v.VerifyPlugin(p, trust); err == nil || !strings.Contains(err.Error(), "a legacy (not prehashed) minisign signature") {
		t.Errorf("legacy signature: %v", err)
	}
}

func TestSignVerifiesWithMinisignTool(t *testing.T) {
	tool := minisignTool(t)
	dir := t.TempDir()
	pub, sec := filepath.Join(dir, "release.pub"), filepath.Join(dir, "release.key")
	var out, errs bytes.Buffer
	if code := KeygenCommand([]string{"-W", "-p", pub, "-s", sec}, nil, &out, &errs); code != exitOK {
		t.Fatalf("keygen: %d %s", code, errs.String())
	}
	if fi, err := os.Stat(sec); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret key file: %v %v", fi, err)
	}
	if code := KeygenCommand([]string{"-W", "-p", pub, "-s", sec}, nil, &out, &errs); code != exitFailure || !strings.Contains(errs.String(), "file exists") {
		t.Errorf("keygen over existing files: %d %s", code, errs.String())
	}
	p, trust := plugin(t, dir, pub)
	out.Reset()
	if code := SignCommand([]string{"-s", sec, "-name", "echo", "-version", "1.4.0", p.Exec}, nil, &out, &errs); code != exitOK {
		t.Fatalf("sign: %d %s", code, errs.String())
	}
	said := run(t, tool, "-V", "-p", pub, "-m", p.Exec)
	if !strings.Contains(said, "Trusted comment: plugvisor-plugin name=echo version=1.4.0 time=") {
		t.Errorf("minisign -V:\n%s", said)
	}
	exe := verified(t, p, trust)
	if !strings.Contains(out.String(), "with key "+exe.Signature.KeyID) {
		t.Errorf("sign said %q; signed by %s", out.String(), exe.Signature.KeyID)
	}
	if code := SignCommand([]string{"-s", sec, "-name", "bad name", "-version", "1", p.Exec}, nil, &out, &errs); code != exitFailure {
		t.Errorf("a name with a space signed: %d", code)
	}
}

// keygen makes a whole key pair or nothing: a public key file in the way
// leaves no secret key behind, and the secret key is 0600.
func TestKeygenWholeOrNothing(t *testing.T) {
	dir := t.TempDir()
	pub, sec := filepath.Join(dir, "k.pub"), filepath.Join(dir, "k.key")
	if err := os.WriteFile(pub, []byte("in the way\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	if code := KeygenCommand([]string{"-W", "-p", pub, "-s", sec}, strings.NewReader(""), &out, &errs); code != exitFailure || !strings.Contains(errs.String(), pub) {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	if _, err := os.Lstat(sec); !os.IsNotExist(err) {
		t.Errorf("a secret key without its public key was left: %v", err)
	}
	if data, _ := os.ReadFile(pub); string(data) != "in the way\n" {
		t.Errorf("the file in the way was changed: %q", data)
	}
	if err := os.Remove(pub); err != nil {
		t.Fatal(err)
	}
	if code := KeygenCommand([]string{"-W", "-p", pub, "-s", sec}, strings.NewReader(""), &out, &errs); code != exitOK {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	fi, err := os.Lstat(sec)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret key: %v %v", fi, err)
	}
	if fi, err := os.Lstat(pub); err != nil || fi.Mode().Perm()&0o022 != 0 {
		t.Fatalf("public key: %v %v", fi, err)
	}
}

// At a terminal keygen asks for the new password twice and writes nothing
// when the two differ or it is empty.
func TestKeygenPasswordAtTerminal(t *testing.T) {
	dir := t.TempDir()
	pub, sec := filepath.Join(dir, "k.pub"), filepath.Join(dir, "k.key")
	keygenAt := func(typed string) (int, string) {
		t.Helper()
		ptm, tty, err := pty.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer ptm.Close()
		defer tty.Close()
		go io.Copy(io.Discard, ptm) // the terminal's echo, if any
		if _, err := io.WriteString(ptm, typed); err != nil {
			t.Fatal(err)
		}
		var out, errs bytes.Buffer
		code := KeygenCommand([]string{"-p", pub, "-s", sec}, tty, &out, &errs)
		return code, errs.String()
	}
	// Not the matching case: it encrypts the key with scrypt at minisign's
	// cost, a minute under the race detector.
	for _, c := range []struct{ typed, says string }{
		{"right\nwrong\n", "password for the new secret key: the same password again: plugvisor keygen: the two passwords differ; nothing was written"},
		{"\n", "plugvisor keygen: an empty password (use -W for an unencrypted key)"},
	} {
		code, errs := keygenAt(c.typed)
		if code != exitFailure || !strings.Contains(strings.ReplaceAll(errs, "\n", ""), c.says) {
			t.Errorf("typed %q: exit %d: %q\nwant it to say %q", c.typed, code, errs, c.says)
		}
		for _, f := range []string{pub, sec} {
			if _, err := os.Lstat(f); !os.IsNotExist(err) {
				t.Errorf("typed %q: %s written: %v", c.typed, f, err)
			}
		}
	}
}

// verified is p verified as the supervisor verifies it, under trust.
func verified(t *testing.T, p *registry.Plugin, trust *registry.Trust) *registry.Executable {
	t.Helper()
	v := registry.NewVerifier()
	defer v.Close()
	exe, err := v.VerifyPlugin(p, trust)
	if err != nil {
		t.Fatal(err)
	}
	exe.File.Close()
	return exe
}
