package registry

import (
	"fmt"
	"slices"
	"strings"
)

// Revocation is what may no longer run, whatever signed it: keys by their
// minisign id and executables by their sha256.
type Revocation struct {
	Keys   []string // minisign key ids, uppercase hex
	SHA256 []string // lowercase hex
	// From says where each entry of Keys and SHA256 was revoked (the
	// config's revoked_keys or revoked_sha256, or the revocation file, at
	// the list's line), for the reasons that name it. Built by the
	// loader; a Revocation made in code may leave it nil.
	From map[string]Pos
}

// KeyRevoked reports whether the key of minisign id is revoked.
func (r Revocation) KeyRevoked(id uint64) bool { return slices.Contains(r.Keys, KeyID(id)) }

// DigestRevoked reports whether content of sha256 sum is revoked.
func (r Revocation) DigestRevoked(sum string) bool { return slices.Contains(r.SHA256, sum) }

// where says where entry was revoked, for messages: " (revoked at
// FILE:LINE)", or "" when that is not known.
func (r Revocation) where(entry string) string {
	if p, ok := r.From[entry]; ok && p.File != "" {
		return " (revoked at " + p.String() + ")"
	}
	return ""
}

// noteFrom wraps a list element's decoder to remember where each entry
// was written in r.From.
func (r *Revocation) noteFrom(elem func(d *decoder, k keyPath, s string) (string, bool)) func(d *decoder, k keyPath, s string) (string, bool) {
	return func(d *decoder, k keyPath, s string) (string, bool) {
		v, ok := elem(d, k, s)
		if ok {
			if r.From == nil {
				r.From = map[string]Pos{}
			}
			if _, seen := r.From[v]; !seen {
				r.From[v] = d.src.pos(k)
			}
		}
		return v, ok
	}
}

// readRevocationFile merges the revocation file of t into t.Revoked. The
// file is TOML with the same two lists as [trust], under shorter names:
//
//	keys = ["3A7F0C1D2E4B5A69"]
//	sha256 = ["<64 hex digits>"]
//
// Like a key file, it must be writable only by plugvisor's user or root;
// its own problems are reported at its own lines.
func readRevocationFile(d *decoder, k keyPath, t *Trust, l *loader) {
	data, err := readTrustFile(t.RevocationFile)
	if err != nil {
		d.fail(k, "%v", err)
		return
	}
	tree, src, ok := readTOML(t.RevocationFile, data, nil, d.errs)
	if !ok {
		return
	}
	l.cfg.Files = append(l.cfg.Files, t.RevocationFile)
	var r Revocation
	fd := &decoder{src: src, dir: d.dir, errs: d.errs}
	fd.table(nil, tree, map[string]setter{
		"keys":   stringList(&r.Keys, t.Revoked.noteFrom(keyIDElem)),
		"sha256": stringList(&r.SHA256, t.Revoked.noteFrom(digestElem)),
	})
	t.Revoked.Keys = append(t.Revoked.Keys, r.Keys...)
	t.Revoked.SHA256 = append(t.Revoked.SHA256, r.SHA256...)
}

// Running is what authorised a running process when it started: the
// sha256 of the bytes it executes and the signature verified over them,
// nil when its plugin did not require one.
type Running struct {
	SHA256    string
	Signature *Signature
}

// StillAuthorised says why a process of plugin p that started as r may
// no longer run under t, the trust of a reload; nil when it may. It asks
// what a start would ask except what needs the bytes, which were verified
// when the process started and are the ones it still executes: a revoked
// sha256; and, when p requires a signature, a revoked signing key, a key
// no longer in [trust.keys] or no longer allowed to sign p, or no
// signature at all (ErrUnsigned: require_signature was off when it
// started; the caller may verify the executable on disk, and keep the
// process if that has the same sha256).
//
// The keys' validity windows are not asked: they say when a key may
// authorise a start, so that keys can be rotated on a schedule, and a key
// that expires is not one that was compromised. Revoking it is what stops
// its processes.
func StillAuthorised(p *Plugin, t *Trust, r Running) error {
	if t == nil {
		if p.RequireSignature {
			return fmt.Errorf("%s: %w: plugin %s requires a signature, and there is no [trust] table", p.Exec, ErrUntrustedKey, p.Name)
		}
		return nil
	}
	if t.Revoked.DigestRevoked(r.SHA256) {
		return fmt.Errorf("%s: %w: the running process's sha256 %s is revoked%s", p.Exec, ErrRevokedDigest, r.SHA256, t.Revoked.where(r.SHA256))
	}
	if !p.RequireSignature {
		return nil
	}
	s := r.Signature
	if s == nil {
		return fmt.Errorf("%s: %w: plugin %s now requires a signature, and its running process was started without one", p.Exec, ErrUnsigned, p.Name)
	}
	who := fmt.Sprintf("key %s (trust.keys.%s)", s.KeyID, s.KeyName)
	key := t.keyByID(s.KeyID)
	switch {
	case slices.Contains(t.Revoked.Keys, s.KeyID):
		return fmt.Errorf("%s: %w: the running process was signed by %s, which is revoked%s", p.Exec, ErrRevokedKey, who, t.Revoked.where(s.KeyID))
	case key == nil:
		return fmt.Errorf("%s: %w: the running process was signed by %s, which is no longer in [trust.keys]", p.Exec, ErrUntrustedKey, who)
	case !key.MaySign(p.Name):
		return fmt.Errorf("%s: %w: the running process was signed by key %s (trust.keys.%s), which may now sign only %s, not plugin %s",
			p.Exec, ErrUntrustedKey, s.KeyID, key.Name, strings.Join(key.Plugins, ", "), p.Name)
	}
	return nil
}

// keyByID is the trusted key whose minisign id prints as id, or nil.
func (t *Trust) keyByID(id string) *TrustKey {
	for _, k := range t.Keys {
		if k.ID() == id {
			return k
		}
	}
	return nil
}
