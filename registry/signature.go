package registry

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"aead.dev/minisign"
	"golang.org/x/crypto/blake2b"
)

// Why a signature check refuses a plugin: each is permanent (IsPermanent),
// since only an operator or a release can change it.
var (
	ErrUnsigned      = errors.New("unsigned")
	ErrBadSignature  = errors.New("bad signature")
	ErrUntrustedKey  = errors.New("untrusted key")
	ErrRevokedKey    = errors.New("revoked key")
	ErrRevokedDigest = errors.New("revoked executable")
	ErrWrongPlugin   = errors.New("signed for another plugin")
	ErrWrongVersion  = errors.New("signed for another version")
	ErrKeyNotValid   = errors.New("key outside its validity window")
)

// CommentPrefix starts the trusted comment of every plugin signature.
const CommentPrefix = "plugvisor-plugin"

// maxSignatureFile bounds a signature file read: minisign's is four short
// lines.
const maxSignatureFile = 16 << 10

// Comment is the trusted comment a plugin's signature must carry, exactly:
//
//	plugvisor-plugin name=NAME version=VERSION time=UNIX_SECONDS
//
// minisign signs it along with the executable, so it binds the signature
// to one plugin and one version: a signature cannot be moved to another
// plugin, and an older one cannot pass for a newer (see Versions). time
// is when it was signed, shown as the signature's age.
func Comment(name, version string, at time.Time) string {
	return CommentPrefix + " name=" + name + " version=" + version + " time=" + strconv.FormatInt(at.Unix(), 10)
}

// ParseComment is Comment's inverse, and strict: the four fields, in that
// order, one space apart, nothing else.
func ParseComment(c string) (name, version string, at time.Time, err error) {
	f := strings.Split(c, " ")
	if len(f) != 4 || f[0] != CommentPrefix {
		return "", "", at, fmt.Errorf("trusted comment %q is not %q", c, CommentPrefix+" name=NAME version=VERSION time=UNIX_SECONDS")
	}
	name, ok1 := strings.CutPrefix(f[1], "name=")
	version, ok2 := strings.CutPrefix(f[2], "version=")
	secs, ok3 := strings.CutPrefix(f[3], "time=")
	n, err := strconv.ParseInt(secs, 10, 64)
	switch {
	case !ok1 || !validName(name):
		return "", "", at, fmt.Errorf("trusted comment %q: name= must be a plugin name", c)
	case !ok2 || !validVersion(version):
		return "", "", at, fmt.Errorf("trusted comment %q: version= must be 1 to 64 printable ASCII characters, no spaces", c)
	case !ok3 || err != nil || n < 0 || strconv.FormatInt(n, 10) != secs:
		// Canonical digits only ("+5" and "05" parse too): one comment,
		// one spelling.
		return "", "", at, fmt.Errorf("trusted comment %q: time= must be Unix seconds, in decimal digits without sign or leading zeros", c)
	}
	return name, version, time.Unix(n, 0), nil
}

// validVersion says whether a version can go in a trusted comment:
// printable ASCII without spaces, at most 64 bytes. Bytes above 0x7f are
// refused too: they would let a version carry C1 controls or invalid
// UTF-8 to the terminals that show it, and let two spellings of one
// character be two versions.
func validVersion(v string) bool {
	if v == "" || len(v) > 64 {
		return false
	}
	for i := range len(v) {
		if v[i] <= ' ' || v[i] >= 0x7f {
			return false
		}
	}
	return true
}

// Signature is a verified signature: who signed which plugin and version,
// and when.
type Signature struct {
	File    string    // the signature file
	KeyID   string    // the signing key's minisign id
	KeyName string    // its [trust.keys.<name>]
	Comment string    // the trusted comment, as signed
	Plugin  string    // from the comment
	Version string    // from the comment
	Time    time.Time // from the comment: when it was signed
}

// sigEntry remembers a signature whose Ed25519 checks passed for a
// content and a public key, so a restart does not check it again. It is
// known by the signature file's bytes, not its inode's metadata, which
// the file's owner can set back (touch -d) and which may not change
// between two writes in one clock tick; the file is a few hundred bytes,
// read at every start.
type sigEntry struct {
	exec string   // the executable it is for, for Retain
	sig  [32]byte // sha256 of the signature file's bytes
	sum  string   // sha256 of the content it verified
	pub  string   // the public key it verified with
}

// checkSignature authorises the content exe holds for plugin p under t:
// see VerifyPlugin. digest is the content's BLAKE2b-512, which minisign's
// prehashed signatures sign.
func (v *Verifier) checkSignature(p *Plugin, t *Trust, exe *Executable, digest func() ([]byte, error), now time.Time) (*Signature, error) {
	sigFile := p.Signature
	data, err := readSignatureFile(p)
	if err != nil {
		return nil, err
	}
	var sig minisign.Signature
	if err := sig.UnmarshalText(data); err != nil {
		return nil, fmt.Errorf("%s: %w: %s: %v", p.Exec, ErrBadSignature, sigFile, err)
	}
	key, err := signer(p, t, &sig)
	if err != nil {
		return nil, err
	}
	want := sigEntry{exec: p.Exec, sig: sha256.Sum256(data), sum: exe.SHA256, pub: key.Key.String()}
	v.mu.Lock()
	cached := v.sigs[sigFile] == want
	v.mu.Unlock()
	if !cached {
		if err := v.ed25519(key, &sig, digest); err != nil {
			return nil, fmt.Errorf("%s: %w: %s: %v", p.Exec, ErrBadSignature, sigFile, err)
		}
		v.mu.Lock()
		v.sigs[sigFile] = want
		v.mu.Unlock()
	}
	return authorise(p, key, &sig, sigFile, now)
}

// readSignatureFile reads p's signature file, without following a symlink
// (a plugin may be able to write beside its executable) and at most
// maxSignatureFile bytes.
func readSignatureFile(p *Plugin) ([]byte, error) {
	data, err := readRegular(p.Signature, maxSignatureFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: %w: no signature at %s (plugin %s requires one)", p.Exec, ErrUnsigned, p.Signature, p.Name)
	case errors.Is(err, ErrNotRegular), errors.Is(err, errTooLarge):
		return nil, fmt.Errorf("%s: %w: %v", p.Exec, ErrBadSignature, err)
	case err != nil:
		return nil, fmt.Errorf("%s: %w: %v", p.Exec, ErrUnsigned, err)
	}
	return data, nil
}

// signer is the trusted key that sig names: not revoked (revoked first,
// so a revoked key also removed from [trust.keys] is called revoked).
func signer(p *Plugin, t *Trust, sig *minisign.Signature) (*TrustKey, error) {
	key, id := t.Key(sig.KeyID), KeyID(sig.KeyID)
	switch {
	case t.Revoked.KeyRevoked(sig.KeyID) && key != nil:
		return nil, fmt.Errorf("%s: %w: %s is signed by key %s (trust.keys.%s), which is revoked%s", p.Exec, ErrRevokedKey, p.Signature, id, key.Name, t.Revoked.where(id))
	case t.Revoked.KeyRevoked(sig.KeyID):
		return nil, fmt.Errorf("%s: %w: %s is signed by key %s, which is revoked%s", p.Exec, ErrRevokedKey, p.Signature, id, t.Revoked.where(id))
	case key == nil:
		return nil, fmt.Errorf("%s: %w: %s is signed by key %s, which is not in [trust.keys]", p.Exec, ErrUntrustedKey, p.Signature, id)
	}
	return key, nil
}

// authorise checks what the verified signature says against the plugin
// and the key's limits; it runs at every start, as time passes and trust
// changes.
func authorise(p *Plugin, key *TrustKey, sig *minisign.Signature, file string, now time.Time) (*Signature, error) {
	name, version, at, err := ParseComment(sig.TrustedComment)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s: %v", p.Exec, ErrBadSignature, file, err)
	}
	who := fmt.Sprintf("key %s (trust.keys.%s)", key.ID(), key.Name)
	switch {
	case name != p.Name:
		return nil, fmt.Errorf("%s: %w: %s is a signature of plugin %s, not %s", p.Exec, ErrWrongPlugin, file, name, p.Name)
	case p.Version != "" && version != p.Version:
		return nil, fmt.Errorf("%s: %w: %s is a signature of version %s, but plugins.%s.version is %s", p.Exec, ErrWrongVersion, file, version, p.Name, p.Version)
	case !key.MaySign(p.Name):
		return nil, fmt.Errorf("%s: %w: %s may sign only %s, not plugin %s", p.Exec, ErrUntrustedKey, who, strings.Join(key.Plugins, ", "), p.Name)
	case !key.ValidAt(now):
		return nil, fmt.Errorf("%s: %w: %s is %s; it is now %s", p.Exec, ErrKeyNotValid, who, key.window(), now.UTC().Format(time.RFC3339))
	case !key.ValidAt(at):
		return nil, fmt.Errorf("%s: %w: %s is %s, but says it signed at %s", p.Exec, ErrKeyNotValid, who, key.window(), at.UTC().Format(time.RFC3339))
	}
	return &Signature{File: file, KeyID: key.ID(), KeyName: key.Name, Comment: sig.TrustedComment, Plugin: name, Version: version, Time: at}, nil
}

// ed25519 does minisign's two checks: the signature over the content's
// digest, and the global signature over that signature and the trusted
// comment. Only prehashed signatures (minisign's default since 0.11) are
// taken: the digest is computed while the content is copied, and a legacy
// signature would need the whole executable in memory.
func (v *Verifier) ed25519(key *TrustKey, sig *minisign.Signature, digest func() ([]byte, error)) error {
	if sig.Algorithm != minisign.HashEdDSA {
		return errors.New("a legacy (not prehashed) minisign signature; sign again with minisign 0.11 or later without -l, or with plugvisor sign")
	}
	pub, err := key.ed25519()
	if err != nil {
		return err
	}
	sum, err := digest()
	if err != nil {
		return err
	}
	v.mu.Lock()
	v.sigChecks++
	v.mu.Unlock()
	if !ed25519.Verify(pub, sum, sig.Signature[:]) {
		return fmt.Errorf("does not verify with key %s: the executable is not what it signed", key.ID())
	}
	if !ed25519.Verify(pub, append(sig.Signature[:], sig.TrustedComment...), sig.CommentSignature[:]) {
		return fmt.Errorf("its trusted comment does not verify with key %s: it was altered", key.ID())
	}
	return nil
}

// ed25519 is the key's Ed25519 public key: a minisign public key is its
// algorithm (2 bytes), its id (8) and the key (32).
func (k *TrustKey) ed25519() (ed25519.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(k.Key.String())
	if err != nil || len(raw) != 10+ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key of trust.keys.%s: malformed", k.Name)
	}
	return ed25519.PublicKey(raw[10:]), nil
}

// VerifyPlugin verifies plugin p's executable as Verify does, under trust
// t (nil: the config has no [trust]). p.SHA256, when set, must match. A
// content whose sha256 t revokes is refused whatever signed it. When p
// requires a signature, its signature file must verify over the bytes of
// the copy returned (the bytes verified are the bytes executed) with a key
// of t that may sign p, within the key's validity window and not revoked,
// and its trusted comment must name p and, if p.Version is set, that
// version (see Comment); the returned Executable's Signature says who
// signed. Without a sha256 the signature alone authorises the run, and
// Executable.SHA256 is the digest computed while copying.
//
// The copy is kept per content as Verify keeps it, and a signature file
// that is unchanged since its Ed25519 checks passed for that content is not
// checked again (see Counts): a restart reads the executable's metadata
// and the signature file's few hundred bytes, and the trusted comment,
// the key's limits and the revocations are checked anew.
func (v *Verifier) VerifyPlugin(p *Plugin, t *Trust) (*Executable, error) {
	return v.VerifyPluginAt(p, t, time.Now())
}

// VerifyPluginAt is VerifyPlugin with the keys' validity windows checked
// at now: the supervisor passes its clock's reading at each start.
func (v *Verifier) VerifyPluginAt(p *Plugin, t *Trust, now time.Time) (*Executable, error) {
	if p.SHA256 == "" && !p.RequireSignature {
		return nil, fmt.Errorf("verify %s: %w: no sha256, and plugin %s does not require a signature", p.Exec, ErrBadChecksum, p.Name)
	}
	if p.SHA256 != "" && !validSHA256(p.SHA256) {
		return nil, fmt.Errorf("verify %s: %w: expected value %q is not 64 lowercase hex digits", p.Exec, ErrBadChecksum, p.SHA256)
	}
	exe, err := v.verify(p.Exec, p.SHA256, p.RequireSignature)
	if err != nil {
		return nil, err
	}
	if t != nil && t.Revoked.DigestRevoked(exe.SHA256) {
		exe.File.Close()
		return nil, fmt.Errorf("verify %s: %w: its sha256 %s is revoked%s", p.Exec, ErrRevokedDigest, exe.SHA256, t.Revoked.where(exe.SHA256))
	}
	if !p.RequireSignature {
		return exe, nil
	}
	if t == nil {
		exe.File.Close()
		return nil, fmt.Errorf("verify %s: %w: plugin %s requires a signature, and there is no [trust] table", p.Exec, ErrUntrustedKey, p.Name)
	}
	sig, err := v.checkSignature(p, t, exe, func() ([]byte, error) { return v.digest(exe) }, now)
	if err != nil {
		exe.File.Close()
		return nil, fmt.Errorf("verify %w", err)
	}
	exe.Signature = sig
	return exe, nil
}

// digest is the BLAKE2b-512 of exe's content: computed while copying, or
// else read once from the verified copy itself (a content first copied
// when no signature was needed).
func (v *Verifier) digest(exe *Executable) ([]byte, error) {
	v.mu.Lock()
	sum := exe.copy.blake
	v.mu.Unlock()
	if sum != nil {
		return sum, nil
	}
	h, _ := blake2b.New512(nil)
	if _, err := io.Copy(h, io.NewSectionReader(exe.File, 0, exe.Size)); err != nil {
		return nil, fmt.Errorf("digest of the verified copy: %w", err)
	}
	sum = h.Sum(nil)
	v.mu.Lock()
	exe.copy.blake = sum
	v.mu.Unlock()
	return sum, nil
}

// Counts is how many executables the Verifier has hashed and how many
// signatures it has checked (Ed25519), since it was made: starts served
// from its cache add to neither.
func (v *Verifier) Counts() (hashed, signatures int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.hashes, v.sigChecks
}
