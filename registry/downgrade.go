package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/plugvisor/plugvisor/internal/private"
)

// ErrDowngrade is a signed version older than the highest one this host
// has run of that plugin.
var ErrDowngrade = errors.New("downgrade refused")

// VersionsFile is where Versions keeps its record, under the work dir.
const VersionsFile = "signed-versions.json"

// maxVersionsFile bounds the record read back: a name and a version per
// plugin are far smaller.
const maxVersionsFile = 1 << 20

// Versions records, per plugin, the highest signed version this host has
// run, so that an old build, validly signed once, cannot be brought back
// (a rollback attack) unless the plugin says allow_downgrade. The record
// is a small JSON file in the work dir, 0600, replaced atomically (a new
// file renamed over it) and never opened through a symlink.
type Versions struct {
	mu   sync.Mutex
	file string
	seen map[string]string
}

// OpenVersions reads the record in workDir; a missing file is an empty
// record.
func OpenVersions(workDir string) (*Versions, error) {
	v := &Versions{file: filepath.Join(workDir, VersionsFile), seen: map[string]string{}}
	f, err := openNoFollow(v.file)
	if errors.Is(err, fs.ErrNotExist) {
		return v, nil
	}
	if err != nil {
		return nil, fmt.Errorf("signed versions: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxVersionsFile+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("signed versions: %s: %w", v.file, err)
	case len(data) > maxVersionsFile:
		return nil, fmt.Errorf("signed versions: %s is larger than %d bytes", v.file, maxVersionsFile)
	}
	if err := json.Unmarshal(data, &v.seen); err != nil {
		return nil, fmt.Errorf("signed versions: %s: %w", v.file, err)
	}
	return v, nil
}

// Highest is the highest signed version of plugin run here, "" for none.
func (v *Versions) Highest(plugin string) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.seen[plugin]
}

// Admit refuses a signed version of p older than the highest one run,
// unless p allows downgrades.
func (v *Versions) Admit(p *Plugin, sig *Signature) error {
	if sig == nil || p.AllowDowngrade {
		return nil
	}
	high := v.Highest(p.Name)
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
	if high := v.seen[plugin]; high != "" && CompareVersions(version, high) <= 0 {
		return nil
	}
	v.seen[plugin] = version
	if err := v.save(); err != nil {
		return fmt.Errorf("signed versions: %w", err)
	}
	return nil
}

// save writes the record to a new file and renames it over the old, so a
// crash leaves one or the other, whole. v.mu must be held.
func (v *Versions) save() error {
	data, err := json.MarshalIndent(v.seen, "", "  ")
	if err != nil {
		return err
	}
	tmp := v.file + ".tmp"
	_ = os.Remove(tmp) // left by a crash; O_EXCL below refuses anything there
	f, err := private.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, v.file)
	}
	if err != nil {
		os.Remove(tmp)
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
