package registry

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"aead.dev/minisign"
)

// testKey is a minisign key pair made for one test.
type testKey struct {
	pub minisign.PublicKey
	sec minisign.PrivateKey
}

func newTestKey(t testing.TB) testKey {
	t.Helper()
	pub, sec, err := minisign.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{pub, sec}
}

// sign writes exe's prehashed minisign signature with trusted comment
// comment to sig.
func (k testKey) sign(t testing.TB, exe, sig, comment string) {
	t.Helper()
	f, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := minisign.NewReader(f)
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sig, r.SignWithComments(k.sec, comment, "test"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// signedConfig writes plugin p's script and a [trust] table trusting key
// (with extra key settings) and returns the loaded config.
func signedConfig(t *testing.T, dir, trustExtra, keyExtra, pluginExtra string, key testKey) *Config {
	t.Helper()
	writeScript(t, dir, "p", "exit 0")
	cfg, err := Parse(filepath.Join(dir, "c.toml"), []byte(`
[agent]
work_dir = "`+dir+`"
[trust]
require_signature = true
`+trustExtra+`
[trust.keys.release]
public_key = "`+key.pub.String()+`"
plugins = ["p"]
`+keyExtra+`
[plugins.p]
exec = "p"
`+pluginExtra))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestSignatureAuthorisesRun(t *testing.T) {
	dir := t.TempDir()
	key := newTestKey(t)
	cfg := signedConfig(t, dir, "", "", `version = "1.0.0"`, key)
	p := cfg.Plugin("p")
	at := time.Unix(1_780_000_000, 0)
	key.sign(t, p.Exec, p.Signature, Comment("p", "1.0.0", at))
	v := NewVerifier()
	defer v.Close()
	v.racy = 0 // so the next starts answer from the cache
	exe, err := v.VerifyPlugin(p, cfg.Trust)
	if err != nil {
		t.Fatal(err)
	}
	defer exe.File.Close()
	sum := sha256Hex("#!/bin/sh\nexit 0\n")
	s := exe.Signature
	if exe.SHA256 != sum || s == nil || s.KeyID != KeyID(key.pub.ID()) || s.KeyName != "release" ||
		s.Comment != "plugvisor-plugin name=p version=1.0.0 time=1780000000" || !s.Time.Equal(at) || s.Version != "1.0.0" {
		t.Fatalf("sha256 %s, signature %+v", exe.SHA256, s)
	}
	// A start served from the cache hashes nothing and checks no signature.
	for range 3 {
		again, err := v.VerifyPlugin(p, cfg.Trust)
		if err != nil {
			t.Fatal(err)
		}
		again.File.Close()
	}
	if hashed, checked := v.Counts(); hashed != 1 || checked != 1 {
		t.Errorf("after 4 verifications: %d hashed, %d signatures checked; want 1 and 1", hashed, checked)
	}
	// A new signature file is checked again, without hashing the file again.
	key.sign(t, p.Exec, p.Signature, Comment("p", "1.0.0", at.Add(time.Hour)))
	again, err := v.VerifyPlugin(p, cfg.Trust)
	if err != nil {
		t.Fatal(err)
	}
	again.File.Close()
	if hashed, checked := v.Counts(); hashed != 1 || checked != 2 || !again.Signature.Time.Equal(at.Add(time.Hour)) {
		t.Errorf("after a new signature: %d hashed, %d checked, signed at %v", hashed, checked, again.Signature.Time)
	}
}

func TestSignatureRefusals(t *testing.T) {
	trusted, other := newTestKey(t), newTestKey(t)
	now := time.Now()
	cases := []struct {
		name                         string
		trust, keyExtra, pluginExtra string
		signer                       *testKey
		comment                      string
		want                         error
		says                         string
	}{
		{name: "unsigned", signer: nil, want: ErrUnsigned, says: "no signature at"},
		{name: "untrusted key", signer: &other, want: ErrUntrustedKey, says: "signed by key " + KeyID(other.pub.ID()) + ", which is not in [trust.keys]"},
		{name: "revoked key", trust: `revoked_keys = ["` + KeyID(trusted.pub.ID()) + `"]`, want: ErrRevokedKey, says: "which is revoked"},
		{name: "revoked key, not trusted either", signer: &other, trust: `revoked_keys = ["` + KeyID(other.pub.ID()) + `"]`, want: ErrRevokedKey, says: "signed by key " + KeyID(other.pub.ID()) + ", which is revoked"},
		{name: "revoked digest", trust: `revoked_sha256 = ["` + sha256Hex("#!/bin/sh\nexit 0\n") + `"]`, want: ErrRevokedDigest, says: "is revoked"},
		{name: "other plugin", comment: Comment("q", "1.0.0", now), want: ErrWrongPlugin, says: "a signature of plugin q, not p"},
		{name: "other version", pluginExtra: `version = "2.0.0"`, want: ErrWrongVersion, says: "a signature of version 1.0.0, but plugins.p.version is 2.0.0"},
		{name: "expired key", keyExtra: `not_after = 2020-01-01T00:00:00Z`, want: ErrKeyNotValid, says: "valid from any time until 2020-01-01T00:00:00Z"},
		{name: "key not yet valid", keyExtra: `not_before = 2999-01-01T00:00:00Z`, want: ErrKeyNotValid, says: "valid from 2999-01-01T00:00:00Z"},
		{name: "key may not sign it", keyExtra: `plugins = ["team-*"]`, want: ErrUntrustedKey, says: "may sign only team-*, not plugin p"},
		{name: "not plugvisor's comment", comment: "timestamp:1780000000\tfile:p\thashed", want: ErrBadSignature, says: "is not \"plugvisor-plugin name=NAME"},
		{name: "comment with more", comment: Comment("p", "1.0.0", now) + " extra=1", want: ErrBadSignature, says: "trusted comment"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			keyExtra := c.keyExtra
			if strings.HasPrefix(keyExtra, "plugins") {
				keyExtra = "" // replaces the default below
			}
			cfg := signedConfig(t, dir, c.trust, keyExtra, c.pluginExtra, trusted)
			if strings.HasPrefix(c.keyExtra, "plugins") {
				cfg.Trust.Keys[0].Plugins = []string{"team-*"}
			}
			p := cfg.Plugin("p")
			signer := &trusted
			if c.signer != nil || c.name == "unsigned" {
				signer = c.signer
			}
			comment := c.comment
			if comment == "" {
				comment = Comment("p", "1.0.0", now)
			}
			if signer != nil {
				signer.sign(t, p.Exec, p.Signature, comment)
			}
			v := NewVerifier()
			defer v.Close()
			exe, err := v.VerifyPlugin(p, cfg.Trust)
			if err == nil {
				exe.File.Close()
			}
			if !errors.Is(err, c.want) || !IsPermanent(err) || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), p.Exec) {
				t.Fatalf("err = %v\nwant %v saying %q", err, c.want, c.says)
			}
		})
	}
}

// The signature checked is over the bytes copied: a file changed under a
// valid signature does not verify.
func TestSignatureOfOtherBytes(t *testing.T) {
	dir := t.TempDir()
	key := newTestKey(t)
	cfg := signedConfig(t, dir, "", "", "", key)
	p := cfg.Plugin("p")
	key.sign(t, p.Exec, p.Signature, Comment("p", "1", time.Now()))
	writeScript(t, dir, "p", "echo changed")
	v := NewVerifier()
	defer v.Close()
	_, err := v.VerifyPlugin(p, cfg.Trust)
	if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "the executable is not what it signed") {
		t.Fatalf("err = %v", err)
	}
}

func TestSignatureFileIsNotFollowed(t *testing.T) {
	dir := t.TempDir()
	key := newTestKey(t)
	cfg := signedConfig(t, dir, "", "", "", key)
	p := cfg.Plugin("p")
	real := filepath.Join(dir, "real.minisig")
	key.sign(t, p.Exec, real, Comment("p", "1", time.Now()))
	if err := os.Symlink(real, p.Signature); err != nil {
		t.Fatal(err)
	}
	v := NewVerifier()
	defer v.Close()
	if _, err := v.VerifyPlugin(p, cfg.Trust); !errors.Is(err, ErrUnsigned) || !strings.Contains(err.Error(), "a symlink") {
		t.Fatalf("err = %v", err)
	}
}

// A key or revocation file others can write is refused, naming the file
// and its mode; so is one reached through a symlink.
func TestTrustFileHygiene(t *testing.T) {
	dir := t.TempDir()
	key := newTestKey(t)
	pubText, _ := key.pub.MarshalText()
	pub := filepath.Join(dir, "release.pub")
	writeFile(t, pub, string(pubText))
	revoked := filepath.Join(dir, "revoked.toml")
	writeFile(t, revoked, "keys = []\n")
	writeScript(t, dir, "p", "exit 0")
	load := func() error {
		_, err := Parse(filepath.Join(dir, "c.toml"), []byte(`
[trust]
require_signature = true
revocation_file = "revoked.toml"
[trust.keys.release]
public_key_file = "release.pub"
plugins = ["*"]
[plugins.p]
exec = "p"
`))
		return err
	}
	if err := load(); err != nil {
		t.Fatalf("0644 files: %v", err)
	}
	for _, f := range []struct{ path, key string }{{pub, "trust.keys.release.public_key_file"}, {revoked, "trust.revocation_file"}} {
		if err := os.Chmod(f.path, 0o664); err != nil {
			t.Fatal(err)
		}
		err := load()
		if err == nil || !strings.Contains(err.Error(), "c.toml:") || !strings.Contains(err.Error(), f.key+": "+f.path+": refused: mode -rw-rw-r-- lets group write it") {
			t.Errorf("group-writable %s: %v", f.path, err)
		}
		if err := os.Chmod(f.path, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Owned by someone else: as root the test gives the file to nobody
	// (65534); as another user it checks as a supervisor running as a
	// third user would.
	foreign, self := 65534, os.Getuid()
	if self == 0 {
		if err := os.Chown(pub, foreign, foreign); err != nil {
			t.Fatal(err)
		}
		err := load()
		if err == nil || !strings.Contains(err.Error(), pub+": refused: owned by uid 65534 (mode -rw-r--r--); a trust file must be owned by root") {
			t.Errorf("foreign key file: %v", err)
		}
		if err := os.Chown(pub, 0, 0); err != nil {
			t.Fatal(err)
		}
	} else {
		fi, err := os.Stat(pub)
		if err != nil {
			t.Fatal(err)
		}
		foreign = self
		err = trustRule{euid: self + 1}.trustFile(pub, fi)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("refused: owned by uid %d (mode -rw-r--r--)", foreign)) {
			t.Errorf("foreign key file: %v", err)
		}
	}
	moved := filepath.Join(dir, "elsewhere.pub")
	if err := os.Rename(pub, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(moved, pub); err != nil {
		t.Fatal(err)
	}
	if err := load(); err == nil || !strings.Contains(err.Error(), pub+": refused: a symlink") {
		t.Errorf("symlinked key file: %v", err)
	}
}

// A trust file in a directory that others may write is refused, naming
// the directory: they could rename another file over it. A sticky
// directory (like /tmp) is enough when the file is trusted.
func TestTrustFileDirectory(t *testing.T) {
	dir := t.TempDir()
	key := newTestKey(t)
	pubText, _ := key.pub.MarshalText()
	keys := filepath.Join(dir, "keys")
	if err := os.Mkdir(keys, 0o700); err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(keys, "release.pub")
	writeFile(t, pub, string(pubText))
	writeScript(t, dir, "p", "exit 0")
	load := func() error {
		_, err := Parse(filepath.Join(dir, "c.toml"), []byte(`
[trust]
require_signature = true
[trust.keys.release]
public_key_file = "keys/release.pub"
plugins = ["p"]
[plugins.p]
exec = "p"
`))
		return err
	}
	if err := load(); err != nil {
		t.Fatalf("a 0700 directory: %v", err)
	}
	for _, c := range []struct {
		mode fs.FileMode
		says string
	}{
		{0o770, "directory " + keys + " is writable by group"},
		{0o777, "directory " + keys + " is writable by group and others"},
	} {
		if err := os.Chmod(keys, c.mode); err != nil {
			t.Fatal(err)
		}
		err := load()
		if err == nil || !strings.Contains(err.Error(), "trust.keys.release.public_key_file: "+pub+": refused: "+c.says) {
			t.Errorf("key file in a %o directory: %v", c.mode, err)
		}
	}
	if err := os.Chmod(keys, 0o777|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if err := load(); err != nil {
		t.Errorf("a sticky directory, the file the supervisor's: %v", err)
	}
}

func TestTrustConfigErrors(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, dir, "p", "exit 0")
	writeFile(t, filepath.Join(dir, "revoked.toml"), "keys = [\"nothex\"]\nsha = []\n")
	_, err := Parse(filepath.Join(dir, "c.toml"), []byte(`[trust]
revocation_file = "revoked.toml"
revoked_sha256 = ["abc"]
[trust.keys.a]
public_key = "RWnotakey"
[plugins.p]
exec = "p"
require_signature = true
[plugins.q]
exec = "p"
sha256 = "`+sha256Hex("#!/bin/sh\nexit 0\n")+`"
signature = "q.minisig"
`))
	want := []string{
		`c.toml:3: trust.revoked_sha256[0]: "abc" is not a sha256 (64 hex digits)`,
		`c.toml:4: trust.keys.a: needs plugins: the plugin names or patterns ("*", "team-*") this key may sign`,
		`c.toml:5: trust.keys.a.public_key: not a minisign public key`,
		`c.toml:8: plugins.p.require_signature: plugin p must be signed, but there is no [trust.keys.<name>] table to verify it with`,
		`c.toml:12: plugins.q.signature: set, but the plugin does not require a signature`,
		`revoked.toml:1: keys[0]: "nothex" is not a minisign key id`,
		`revoked.toml:2: sha: unknown key`,
	}
	if err == nil {
		t.Fatal("loaded")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
}

// checkExampleTrust checks the example's [trust] table reached the Config.
func checkExampleTrust(t *testing.T, tr *Trust, dir, revoked string, data []byte) {
	t.Helper()
	if tr == nil || len(tr.Keys) != 2 {
		t.Fatalf("trust = %+v", tr)
	}
	a, b := tr.Keys[0], tr.Keys[1]
	if a.Name != "release-2026" || a.ID() != "87CCFE3643500550" || a.NotBefore.Format(time.RFC3339) != "2026-01-01T00:00:00Z" ||
		a.NotAfter.Format(time.RFC3339) != "2027-03-01T00:00:00Z" || strings.Join(a.Plugins, ",") != "echo,team-*" ||
		a.Where.Line != lineOf(t, data, "[trust.keys.release-2026]") || !a.MaySign("team-x") || a.MaySign("other") {
		t.Errorf("release-2026 = %+v", a)
	}
	if b.Name != "release-2027" || b.ID() != "226D5D4DF6AD9EA2" || b.KeyFile != filepath.Join(dir, "keys", "release-2027.pub") ||
		!b.NotAfter.IsZero() || !b.MaySign("anything") {
		t.Errorf("release-2027 = %+v", b)
	}
	if !tr.RequireSignature || tr.RevocationFile != revoked ||
		strings.Join(tr.Revoked.Keys, ",") != "226D5D4DF6AD9EA2,AB" ||
		strings.Join(tr.Revoked.SHA256, ",") != "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9,"+strings.Repeat("ab", 32) {
		t.Errorf("trust = %+v", tr)
	}
}

// The trusted comment has one spelling: anything Comment would not write
// is refused, so no two comments mean one thing and nothing unprintable
// reaches a terminal that shows it.
func TestParseCommentStrict(t *testing.T) {
	name, version, at, err := ParseComment("plugvisor-plugin name=net-a version=v1.2.0-rc.1+b=7 time=1780000000")
	if err != nil || name != "net-a" || version != "v1.2.0-rc.1+b=7" || at.Unix() != 1780000000 {
		t.Fatalf("a valid comment: %q %q %v %v", name, version, at, err)
	}
	for _, c := range []struct{ comment, says string }{
		{"plugvisor-plugin name=p version=1 time=+1780000000", "time= must be Unix seconds"},
		{"plugvisor-plugin name=p version=1 time=01780000000", "time= must be Unix seconds"},
		{"plugvisor-plugin name=p version=1 time=-0", "time= must be Unix seconds"},
		{"plugvisor-plugin name=p version=1 time=", "time= must be Unix seconds"},
		{"plugvisor-plugin name=p version=1.0\u009b2J time=1", "version= must be 1 to 64 printable ASCII"},
		{"plugvisor-plugin name=p version=1.0\xff time=1", "version= must be 1 to 64 printable ASCII"},
		{"plugvisor-plugin name=p version=\x7f time=1", "version= must be 1 to 64 printable ASCII"},
		{"plugvisor-plugin name=p version= time=1", "version= must be 1 to 64 printable ASCII"},
		{"plugvisor-plugin name=p name=q version=1 time=1", "is not"},
		{"plugvisor-plugin name=p version=1 version=2 time=1", "is not"},
		{"plugvisor-plugin name=p  version=1 time=1", "is not"},
		{"plugvisor-plugin name=p version=1 time=1 ", "is not"},
		{"plugvisor-plugin version=1 name=p time=1", "name= must be a plugin name"},
		{"plugvisor-plugin name=p/q version=1 time=1", "name= must be a plugin name"},
		{"plugvisor-plugin name=p=q version=1 time=1", "name= must be a plugin name"},
		{"plugvisor-plugin\tname=p version=1 time=1", "is not"},
	} {
		if _, _, _, err := ParseComment(c.comment); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("ParseComment(%q) = %v, want an error saying %q", c.comment, err, c.says)
		}
	}
}

// A signature file rewritten in place with another signature of the same
// size is read again at the next start, however soon: the cache knows a
// signature by its bytes, not by the inode's times, which on a kernel with
// coarse timestamps need not change between two writes in one clock tick.
func TestSignatureRewrittenInPlace(t *testing.T) {
	dir := t.TempDir()
	key := newTestKey(t)
	cfg := signedConfig(t, dir, "", "", "", key)
	p := cfg.Plugin("p")
	at := time.Unix(1_780_000_000, 0)
	sigs := make([][]byte, 2)
	for i := range sigs {
		key.sign(t, p.Exec, p.Signature, Comment("p", fmt.Sprintf("1.0.%d", i), at))
		data, err := os.ReadFile(p.Signature)
		if err != nil {
			t.Fatal(err)
		}
		sigs[i] = data
	}
	if len(sigs[0]) != len(sigs[1]) {
		t.Fatalf("signatures of %d and %d bytes; the test needs one size", len(sigs[0]), len(sigs[1]))
	}
	v := NewVerifier()
	defer v.Close()
	v.racy = 0
	for i := range 40 {
		f, err := os.OpenFile(p.Signature, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteAt(sigs[i%2], 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		exe, err := v.VerifyPlugin(p, cfg.Trust)
		if err != nil {
			t.Fatal(err)
		}
		exe.File.Close()
		if want := fmt.Sprintf("1.0.%d", i%2); exe.Signature.Version != want {
			t.Fatalf("start %d: signature of version %s, but the file on disk signs %s", i, exe.Signature.Version, want)
		}
	}
	if hashed, checked := v.Counts(); hashed != 1 || checked != 40 {
		t.Errorf("%d hashed, %d signatures checked; want 1 and 40", hashed, checked)
	}
}

// One Ed25519 key may not be trusted twice under two minisign ids: the
// id is not signed, so a revoked id could be edited into the other.
func TestTrustSameKeyTwoIDs(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, dir, "p", "exit 0")
	key := newTestKey(t)
	raw, err := base64.StdEncoding.DecodeString(key.pub.String())
	if err != nil {
		t.Fatal(err)
	}
	raw[2] ^= 1 // the id's low byte
	twin := base64.StdEncoding.EncodeToString(raw)
	_, err = Parse(filepath.Join(dir, "c.toml"), []byte(`[trust]
[trust.keys.a]
public_key = "`+key.pub.String()+`"
plugins = ["p"]
[trust.keys.b]
public_key = "`+twin+`"
plugins = ["p"]
[plugins.p]
exec = "p"
require_signature = true
`))
	if err == nil || !strings.Contains(err.Error(), "c.toml:5: trust.keys.b: same Ed25519 key as trust.keys.a, under another id") {
		t.Fatalf("err = %v", err)
	}
}

// The trusted comment is covered by minisign's global signature: a
// comment edited to claim another version (or plugin) is refused as
// altered, not read; so is a signature whose Ed25519 half is edited.
func TestSignatureCommentAltered(t *testing.T) {
	dir := t.TempDir()
	key := newTestKey(t)
	cfg := signedConfig(t, dir, "", "", "", key)
	p := cfg.Plugin("p")
	signed := Comment("p", "1.0.0", time.Unix(1_780_000_000, 0))
	key.sign(t, p.Exec, p.Signature, signed)
	data, err := os.ReadFile(p.Signature)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	sigLine := lines[1]
	raw, err := base64.StdEncoding.DecodeString(sigLine)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-1] ^= 1
	for _, c := range []struct {
		name, from, to, says string
	}{
		{"comment", "version=1.0.0", "version=9.0.0", "its trusted comment does not verify with key " + KeyID(key.pub.ID()) + ": it was altered"},
		{"plugin", "name=p", "name=q", "its trusted comment does not verify"},
		{"signature", sigLine, base64.StdEncoding.EncodeToString(raw), "does not verify with key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			edited := strings.Replace(string(data), c.from, c.to, 1)
			if edited == string(data) {
				t.Fatalf("%q not in the signature file", c.from)
			}
			if err := os.WriteFile(p.Signature, []byte(edited), 0o644); err != nil {
				t.Fatal(err)
			}
			v := NewVerifier()
			defer v.Close()
			exe, err := v.VerifyPlugin(p, cfg.Trust)
			if err == nil {
				exe.File.Close()
			}
			if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), p.Signature+": "+c.says) {
				t.Fatalf("err = %v\nwant it to say %q", err, c.says)
			}
		})
	}
}
