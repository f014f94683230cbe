package registry

import (
	"slices"
)

// Revocation is what may no longer run, whatever signed it: keys by their
// minisign id and executables by their sha256.
type Revocation struct {
	Keys   []string // minisign key ids, uppercase hex
	SHA256 []string // lowercase hex
}

// KeyRevoked reports whether the key of minisign id is revoked.
func (r Revocation) KeyRevoked(id uint64) bool { return slices.Contains(r.Keys, KeyID(id)) }

// DigestRevoked reports whether content of sha256 sum is revoked.
func (r Revocation) DigestRevoked(sum string) bool { return slices.Contains(r.SHA256, sum) }

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
		"keys":   stringList(&r.Keys, keyIDElem),
		"sha256": stringList(&r.SHA256, digestElem),
	})
	t.Revoked.Keys = append(t.Revoked.Keys, r.Keys...)
	t.Revoked.SHA256 = append(t.Revoked.SHA256, r.SHA256...)
}
