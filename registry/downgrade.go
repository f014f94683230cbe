package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/plugvisor/plugvisor/internal/private"
)

// ErrDowngrade is a signed version older than the highest one this host
// has run of that plugin.
var ErrDowngrade = errors.New("downgrade refused")

// ErrVersionRecord is a version record that cannot be read: a signed
// version cannot be told a downgrade or not, so it is refused.
var ErrVersionRecord = errors.New("version record unreadable")

// ErrVersionsTampered is a version record changed by something other
// than the Versions that keeps it, while it kept it.
var ErrVersionsTampered = errors.New("version record tampered with")

// VersionsFile is where Versions keeps its record, under the work dir.
const VersionsFile = "signed-versions.json"

// maxVersionsFile bounds the record read back: a name and a version per
// plugin are far smaller.
const maxVersionsFile = 1 << 20

// Versions records, per plugin, the highest signed version this host has
// run, so that an old build, validly signed once, cannot be brought back
// (a rollback attack) unless the plugin says allow_downgrade. The record
// is a small JSON file in the work dir, 0600, replaced atomically (a new
// file renamed over it, then the directory synced) and never opened
// through a symlink.
//
// While it runs, what a Versions has read and recorded is in its memory,
// and that decides: a record deleted or rewritten behind its back (by a
// plugin of plugvisor's own uid, which nothing but a user of its own or a
// sandbox keeps from the work dir) lowers nothing. Tampered notices such a
// change and writes the record back from memory. Between two runs of
// plugvisor the file is the only memory; see the README's limits.
//
// A record that cannot be read (not JSON, a symlink, too large) refuses
// the signed plugins that do not allow downgrades, naming the file, and
// only them: the others run, and every start reads the file again, so
// repairing or removing it (which forgets what ran) takes effect at the
// next start. A broken record is never overwritten.
type Versions struct {
	mu     sync.Mutex
	file   string
	seen   map[string]string
	broken error // why the record could not be read; nil once it has been
	// last is the sha256 of the bytes the file held when v last read or
	// wrote it, nil while there was no file.
	last []byte
}

// OpenVersions reads the record in workDir; a missing file is an empty
// record. The error says the record is broken, as Err does; the Versions
// is usable either way.
func OpenVersions(workDir string) (*Versions, error) {
	v := &Versions{file: filepath.Join(workDir, VersionsFile), broken: errors.New("not read yet")}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v, v.load()
}

// Err is why the record cannot be read, nil when it can. It is read again
// first.
func (v *Versions) Err() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.load()
}

// load reads the record if it has not been read yet. v.mu must be held.
func (v *Versions) load() error {
	if v.broken == nil {
		return nil
	}
	data, err := readVersionsFile(v.file)
	var seen map[string]string
	if err == nil {
		seen, err = parseVersions(v.file, data)
	}
	if err != nil {
		v.broken = fmt.Errorf("%w: %v", ErrVersionRecord, err)
		return v.broken
	}
	v.seen, v.broken, v.last = seen, nil, digestOf(data)
	return nil
}

// readVersionsFile reads the record's bytes, nil when there is no file,
// never through a symlink, and only from a regular file: a named pipe
// held open by a writer that never writes would block the read, and
// every signed start behind the record's lock, for ever.
func readVersionsFile(file string) ([]byte, error) {
	data, err := readRegular(file, maxVersionsFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

func parseVersions(file string, data []byte) (map[string]string, error) {
	seen := map[string]string{}
	if data == nil {
		return seen, nil
	}
	if err := json.Unmarshal(data, &seen); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return seen, nil
}

func digestOf(data []byte) []byte {
	if data == nil {
		return nil
	}
	sum := sha256.Sum256(data)
	return sum[:]
}

// Tampered reads the record again and, if it is not what v last read or
// wrote, writes it back from v's memory and says what had been changed
// (ErrVersionsTampered): the versions lowered or removed, or why the file
// could not be read. What was written there is not taken, not even a
// higher version, which could otherwise block every real release. nil
// when the file is as v left it, and while the record is broken (Err says
// why).
func (v *Versions) Tampered() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.broken != nil {
		return nil
	}
	data, err := readVersionsFile(v.file)
	if err == nil && bytes.Equal(digestOf(data), v.last) {
		return nil
	}
	what := "it no longer reads: " + fmt.Sprint(err)
	if err == nil {
		what = v.changes(data)
	}
	if serr := v.save(); serr != nil {
		return fmt.Errorf("%w: %s was changed by something other than plugvisor (%s), and could not be written back: %v", ErrVersionsTampered, v.file, what, serr)
	}
	return fmt.Errorf("%w: %s was changed by something other than plugvisor (%s); written back from memory, which is what refuses downgrades", ErrVersionsTampered, v.file, what)
}

// changes describes how data differs from v's memory. v.mu must be held.
func (v *Versions) changes(data []byte) string {
	if data == nil {
		return "deleted"
	}
	disk, err := parseVersions(v.file, data)
	if err != nil {
		return "no longer JSON"
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(v.seen)) {
		switch d, ok := disk[name]; {
		case !ok:
			out = append(out, name+" "+v.seen[name]+" removed")
		case d != v.seen[name]:
			out = append(out, name+" "+v.seen[name]+" → "+d)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(disk)) {
		if _, ok := v.seen[name]; !ok {
			out = append(out, name+" "+disk[name]+" added")
		}
	}
	if len(out) == 0 {
		return "rewritten with the same versions"
	}
	return strings.Join(out, ", ")
}

// Highest is the highest signed version of plugin run here, "" for none
// (or an unreadable record).
func (v *Versions) Highest(plugin string) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.seen[plugin]
}

// Admit refuses a signed version of p older than the highest one run,
// unless p allows downgrades, and any signed version while the record
// cannot be read.
func (v *Versions) Admit(p *Plugin, sig *Signature) error {
	if sig == nil || p.AllowDowngrade {
		return nil
	}
	v.mu.Lock()
	err := v.load()
	high := v.seen[p.Name]
	v.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%s: %w (repair it, or remove it to forget every version recorded, or set allow_downgrade = true for plugin %s)", p.Exec, err, p.Name)
	}
	if high != "" && CompareVersions(sig.Version, high) < 0 {
		return fmt.Errorf("%s: %w: signed version %s is older than version %s, the highest this host has run (set allow_downgrade = true for plugin %s to run it)",
			p.Exec, ErrDowngrade, sig.Version, high, p.Name)
	}
	return nil
}

// Record notes that signed version of plugin ran, if it is the highest.
func (v *Versions) Record(plugin, version string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.load(); err != nil {
		return fmt.Errorf("signed versions: %w", err)
	}
	if high := v.seen[plugin]; high != "" && CompareVersions(version, high) <= 0 {
		return nil
	}
	v.seen[plugin] = version
	if err := v.save(); err != nil {
		return fmt.Errorf("signed versions: %w", err)
	}
	return nil
}

// save writes the record to a new file, renames it over the old and
// syncs the directory, so a crash leaves one or the other, whole, and a
// record that was saved stays saved. v.mu must be held.
func (v *Versions) save() error {
	data, err := json.MarshalIndent(v.seen, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if err := private.Replace(v.file, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", v.file, err)
	}
	v.last = digestOf(data)
	return nil
}

// CompareVersions orders two versions, semver-ish: a leading "v" is
// ignored, as is build metadata after "+"; the release part is compared
// dot by dot, numerically where both parts are numbers (a missing part is
// 0, so 1.2 = 1.2.0) and as text otherwise; a version with a pre-release
// ("-rc.1") is older than the same release without one, and pre-releases
// compare identifier by identifier as semver says (numbers below words).
// It returns -1, 0 or +1.
func CompareVersions(a, b string) int {
	ra, pa := splitVersion(a)
	rb, pb := splitVersion(b)
	if c := compareParts(strings.Split(ra, "."), strings.Split(rb, "."), true); c != 0 {
		return c
	}
	switch {
	case pa == pb:
		return 0
	case pa == "":
		return 1
	case pb == "":
		return -1
	}
	return compareParts(strings.Split(pa, "."), strings.Split(pb, "."), false)
}

func splitVersion(v string) (release, pre string) {
	v = strings.TrimPrefix(v, "v")
	v, _, _ = strings.Cut(v, "+")
	release, pre, _ = strings.Cut(v, "-")
	return release, pre
}

// compareParts compares dot-separated identifiers; padZero treats a
// missing release part as 0, while a shorter pre-release is older.
func compareParts(a, b []string, padZero bool) int {
	for i := range max(len(a), len(b)) {
		x, y := "", ""
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if padZero {
			x, y = orZero(x), orZero(y)
		} else if x == "" || y == "" {
			return compareLen(x, y)
		}
		if c := compareIdent(x, y); c != 0 {
			return c
		}
	}
	return 0
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

func compareLen(x, y string) int {
	if x == "" {
		return -1
	}
	return 1
}

func compareIdent(x, y string) int {
	nx, ex := strconv.ParseUint(x, 10, 64)
	ny, ey := strconv.ParseUint(y, 10, 64)
	switch {
	case ex == nil && ey == nil:
		if nx < ny {
			return -1
		}
		if nx > ny {
			return 1
		}
		return 0
	case ex == nil:
		return -1
	case ey == nil:
		return 1
	}
	return strings.Compare(x, y)
}
