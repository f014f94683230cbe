package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
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
	seen, err := readVersions(v.file)
	if err != nil {
		v.broken = fmt.Errorf("%w: %v", ErrVersionRecord, err)
		return v.broken
	}
	v.seen, v.broken = seen, nil
	return nil
}

func readVersions(file string) (map[string]string, error) {
	seen := map[string]string{}
	f, err := openNoFollow(file)
	if errors.Is(err, fs.ErrNotExist) {
		return seen, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxVersionsFile+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w", file, err)
	case len(data) > maxVersionsFile:
		return nil, fmt.Errorf("%s is larger than %d bytes", file, maxVersionsFile)
	}
	if err := json.Unmarshal(data, &seen); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return seen, nil
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
	if err := private.Replace(v.file, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", v.file, err)
	}
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
