package registry

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"aead.dev/minisign"
	"golang.org/x/sys/unix"
)

// Trust is the [trust] table: which keys may sign which plugins, whether
// plugins must be signed, and what is revoked. It is about signatures; the
// interpreter rule for scripts is trustRule, in trust.go.
type Trust struct {
	// RequireSignature is every plugin's default: a plugin's own
	// require_signature overrides it.
	RequireSignature bool
	Keys             []*TrustKey // sorted by Name
	Revoked          Revocation  // revoked_keys and revoked_sha256 with the revocation file's merged in
	RevocationFile   string      // "" for none
	Where            Pos
}

// TrustKey is one [trust.keys.<name>] table: a minisign public key and
// what it may sign.
type TrustKey struct {
	Name      string // the table's name, for messages
	Key       minisign.PublicKey
	KeyFile   string    // public_key_file, "" when the key is inline
	NotBefore time.Time // zero: no lower bound
	NotAfter  time.Time // zero: no upper bound
	Plugins   []string  // plugin names or filepath.Match patterns
	Where     Pos
}

// ID is the key's minisign id as minisign prints it (see KeyID).
func (k *TrustKey) ID() string { return KeyID(k.Key.ID()) }

// KeyID formats a minisign key id as minisign prints it: uppercase hex,
// up to 16 digits, without leading zeros.
func KeyID(id uint64) string { return strings.ToUpper(strconv.FormatUint(id, 16)) }

// MaySign reports whether the key's plugins list names plugin.
func (k *TrustKey) MaySign(plugin string) bool {
	for _, pat := range k.Plugins {
		if ok, _ := filepath.Match(pat, plugin); ok {
			return true
		}
	}
	return false
}

// ValidAt reports whether t lies within the key's validity window.
func (k *TrustKey) ValidAt(t time.Time) bool {
	return (k.NotBefore.IsZero() || !t.Before(k.NotBefore)) && (k.NotAfter.IsZero() || !t.After(k.NotAfter))
}

// window describes the key's validity window for messages.
func (k *TrustKey) window() string {
	from, until := "any time", "no end"
	if !k.NotBefore.IsZero() {
		from = k.NotBefore.UTC().Format(time.RFC3339)
	}
	if !k.NotAfter.IsZero() {
		until = k.NotAfter.UTC().Format(time.RFC3339)
	}
	return "valid from " + from + " until " + until
}

// Key returns the trusted key of minisign id, or nil.
func (t *Trust) Key(id uint64) *TrustKey {
	if t == nil {
		return nil
	}
	for _, k := range t.Keys {
		if k.Key.ID() == id {
			return k
		}
	}
	return nil
}

// maxTrustFile bounds a public key or revocation file read into memory.
const maxTrustFile = 1 << 20

func trustTable(l *loader) setter {
	return func(d *decoder, k keyPath, v any) {
		t := &Trust{Where: d.src.pos(k)}
		var keys map[string]any
		fields := map[string]setter{
			"require_signature": boolean(&t.RequireSignature),
			"revoked_keys":      stringList(&t.Revoked.Keys, t.Revoked.noteFrom(keyIDElem)),
			"revoked_sha256":    stringList(&t.Revoked.SHA256, t.Revoked.noteFrom(digestElem)),
			"revocation_file":   path(&t.RevocationFile),
			"keys": func(d *decoder, k keyPath, v any) {
				if m, ok := v.(map[string]any); ok {
					keys = m
					return
				}
				d.fail(k, "must be a table of keys, got %s", describe(v))
			},
		}
		if !d.table(k, v, fields) {
			return
		}
		for _, name := range slices.Sorted(maps.Keys(keys)) {
			if key := trustKey(d, k.key("keys", name), name, keys[name]); key != nil {
				t.Keys = append(t.Keys, key)
			}
		}
		if t.RevocationFile != "" {
			readRevocationFile(d, k.key("revocation_file"), t, l)
		}
		l.cfg.Trust = t
	}
}

// trustKey decodes one [trust.keys.<name>] table; nil when it is unusable.
func trustKey(d *decoder, k keyPath, name string, v any) *TrustKey {
	key := &TrustKey{Name: name, Where: d.src.pos(k)}
	var inline string
	plugins := false
	ok := d.table(k, v, map[string]setter{
		"public_key":      str(&inline),
		"public_key_file": path(&key.KeyFile),
		"not_before":      datetime(&key.NotBefore),
		"not_after":       datetime(&key.NotAfter),
		"plugins": func(d *decoder, k keyPath, v any) {
			plugins = true
			stringList(&key.Plugins, patternElem)(d, k, v)
		},
	})
	if !ok {
		return nil
	}
	n := len(*d.errs)
	switch {
	case inline != "" && key.KeyFile != "":
		d.fail(k.key("public_key_file"), "set public_key or public_key_file, not both")
	case inline != "":
		if err := key.Key.UnmarshalText([]byte(inline)); err != nil {
			d.fail(k.key("public_key"), "not a minisign public key (the base64 line of a .pub file, \"RW...\"): %v", err)
		}
	case key.KeyFile != "":
		data, err := readTrustFile(key.KeyFile)
		if err == nil {
			err = key.Key.UnmarshalText(data)
		}
		if err != nil {
			d.fail(k.key("public_key_file"), "%v", err)
		}
	default:
		d.fail(k, "needs public_key (minisign's \"RW...\" line) or public_key_file (a minisign .pub file)")
	}
	if !plugins {
		d.fail(k, "needs plugins: the plugin names or patterns (\"*\", \"team-*\") this key may sign")
	}
	if !key.NotBefore.IsZero() && !key.NotAfter.IsZero() && !key.NotAfter.After(key.NotBefore) {
		d.fail(k.key("not_after"), "%s is not after not_before (%s)", key.NotAfter.Format(time.RFC3339), key.NotBefore.Format(time.RFC3339))
	}
	if len(*d.errs) > n {
		return nil
	}
	return key
}

// datetime decodes a TOML date-time, or a string in RFC 3339; a date-time
// without an offset is in the machine's local time, as TOML says.
func datetime(dst *time.Time) setter {
	return func(d *decoder, k keyPath, v any) {
		switch x := v.(type) {
		case time.Time:
			*dst = x
		case string:
			t, err := time.Parse(time.RFC3339, x)
			if err != nil {
				d.fail(k, "invalid date-time %q (want RFC 3339, e.g. 2026-01-31T00:00:00Z)", x)
				return
			}
			*dst = t
		default:
			d.fail(k, "must be a date-time such as 2026-01-31T00:00:00Z, got %s", describe(v))
		}
	}
}

// keyIDElem checks a revoked key id: up to 16 hex digits, stored as
// KeyID prints it (leading zeros or not, either case).
func keyIDElem(d *decoder, k keyPath, s string) (string, bool) {
	id, err := strconv.ParseUint(s, 16, 64)
	if err != nil || len(s) > 16 {
		d.fail(k, "%q is not a minisign key id (up to 16 hex digits, as minisign and plugvisor check print it)", s)
		return "", false
	}
	return KeyID(id), true
}

func digestElem(d *decoder, k keyPath, s string) (string, bool) {
	s = strings.ToLower(s)
	if !validSHA256(s) {
		d.fail(k, "%q is not a sha256 (64 hex digits)", s)
		return "", false
	}
	return s, true
}

func patternElem(d *decoder, k keyPath, s string) (string, bool) {
	if _, err := filepath.Match(s, ""); err != nil || s == "" {
		d.fail(k, "%q is not a plugin name or pattern (e.g. \"echo\", \"team-*\")", s)
		return "", false
	}
	return s, true
}

// readTrustFile reads a key or revocation file after checking that only
// plugvisor's user or root can change it: whoever can write the trust
// store can authorise any code. That holds for the file and for every
// directory on the way to it (trustRule, as for a script's interpreter),
// since whoever can write a directory can rename another file over the
// one checked. A symlink is refused rather than followed, and the file
// read is the one whose path was checked.
func readTrustFile(name string) ([]byte, error) {
	f, err := openNoFollow(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	r := currentTrust()
	if err := r.trustFile(name, fi); err != nil {
		return nil, err
	}
	if err := r.trustDirs(name, fi); err != nil {
		return nil, err
	}
	if fi.Size() > maxTrustFile {
		return nil, fmt.Errorf("%s: %d bytes, more than a trust file may hold (%d)", name, fi.Size(), maxTrustFile)
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil && fi.Size() > 0 {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return data, nil
}

// trustFile refuses a trust file that is not a regular file owned by
// plugvisor's user or root and writable by no one else.
func (r trustRule) trustFile(name string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: refused: %s, not a regular file", name, kind(fi.Mode()))
	}
	if uid := owner(fi); !r.trusts(uid) {
		return fmt.Errorf("%s: refused: owned by uid %d (mode %s); a trust file must be owned by %s", name, uid, fi.Mode().Perm(), r.owners())
	}
	if w := writers(fi.Mode()); w != "" {
		return fmt.Errorf("%s: refused: mode %s lets %s write it; a trust file must be writable by its owner only (chmod go-w %s)", name, fi.Mode().Perm(), w, name)
	}
	return nil
}

// trustDirs refuses a trust file that a directory on its path lets an
// untrusted user replace, and one that is no longer at its path.
func (r trustRule) trustDirs(name string, fi fs.FileInfo) error {
	abs, err := filepath.Abs(name)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	_, at, err := r.resolve(abs)
	var d *distrust
	switch {
	case errors.As(err, &d):
		return fmt.Errorf("%s: refused: %v", name, d)
	case err != nil:
		return fmt.Errorf("%s: %w", name, err)
	case !os.SameFile(at, fi):
		return fmt.Errorf("%s: refused: replaced while it was checked", name)
	}
	return nil
}

// errTooLarge is a file over the bytes readRegular was allowed.
var errTooLarge = errors.New("too large")

// readRegular reads name, at most limit bytes, opened as openNoFollow
// does, and only if it is a regular file. Its errors name the file:
// openNoFollow's (fs.ErrNotExist among them), ErrNotRegular with the
// file's kind, errTooLarge.
func readRegular(name string, limit int) ([]byte, error) {
	f, err := openNoFollow(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w", name, err)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s: %w (%s)", name, ErrNotRegular, kind(fi.Mode()))
	}
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w", name, err)
	case len(data) > limit:
		return nil, fmt.Errorf("%s is larger than %d bytes: %w", name, limit, errTooLarge)
	}
	return data, nil
}

// openNoFollow opens name for reading without following a symlink at its
// last element, nor blocking on a named pipe.
func openNoFollow(name string) (*os.File, error) {
	fd, err := unix.Open(name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	switch {
	case errors.Is(err, unix.ELOOP):
		return nil, fmt.Errorf("%s: refused: a symlink (name the file itself)", name)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", name, statErr(&fs.PathError{Op: "open", Path: name, Err: err}))
	}
	return os.NewFile(uintptr(fd), name), nil
}

// finishSignature derives the plugin's signature settings from [trust].
func finishSignature(p *Plugin, t *Trust) {
	if !p.owns("require_signature") && t != nil {
		p.RequireSignature = t.RequireSignature
	}
	if p.Signature == "" && p.Exec != "" {
		p.Signature = p.Exec + ".minisig"
	}
}

// trust checks [trust] against itself and the plugins that need it.
func (v *validator) trust(cfg *Config) {
	t := cfg.Trust
	if t != nil {
		// A minisign key id is not part of what is signed: one Ed25519
		// key under two ids would let a signature whose id was edited
		// pass as the other, past a revocation of the first.
		seen, seenKey := map[uint64]string{}, map[string]string{}
		for _, key := range t.Keys {
			at := keyPath{"trust", "keys", key.Name}
			pub, _ := key.ed25519() // decoded at load; a malformed one never gets here
			if other, ok := seen[key.Key.ID()]; ok {
				v.fail(at, "same minisign key (id %s) as trust.keys.%s", key.ID(), other)
			} else if other, ok := seenKey[string(pub)]; ok {
				v.fail(at, "same Ed25519 key as trust.keys.%s, under another id (%s): trust a key once", other, key.ID())
			}
			seen[key.Key.ID()], seenKey[string(pub)] = key.Name, key.Name
		}
	}
	for _, p := range cfg.Plugins {
		k := keyPath{"plugins", p.Name}
		switch {
		case p.RequireSignature && (t == nil || len(t.Keys) == 0):
			at := k.key("require_signature")
			if !p.owns("require_signature") {
				at = keyPath{"trust", "require_signature"}
			}
			v.fail(at, "plugin %s must be signed, but there is no [trust.keys.<name>] table to verify it with", p.Name)
		case !p.RequireSignature && p.owns("signature"):
			v.fail(k.key("signature"), "set, but the plugin does not require a signature: set require_signature = true here or in [trust]")
		}
	}
}
