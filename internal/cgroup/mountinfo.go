package cgroup

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// mount is one line of /proc/self/mountinfo that matters here.
type mount struct {
	root      string // the directory of the hierarchy this mount shows
	point     string
	fstype    string
	readOnly  bool
	superOpts []string // for cgroup v1: the controllers of the hierarchy
}

// parseMountinfo reads the format of proc(5): fields up to the optional
// ones, a lone "-", then the filesystem type, source and super options.
func parseMountinfo(data, file string) ([]mount, error) {
	var mounts []mount
	for n, line := range strings.Split(data, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		m, err := parseMountLine(line)
		if err != nil {
			return nil, fmt.Errorf("cgroup: %s:%d: %w", file, n+1, err)
		}
		mounts = append(mounts, m)
	}
	return mounts, nil
}

func parseMountLine(line string) (mount, error) {
	f := strings.Fields(line)
	sep := slices.Index(f, "-")
	if sep < 6 || len(f) < sep+4 {
		return mount{}, fmt.Errorf("malformed mountinfo line %q", line)
	}
	opts := strings.Split(f[5], ",")
	super := strings.Split(f[sep+3], ",")
	return mount{
		root:      unescape(f[3]),
		point:     unescape(f[4]),
		fstype:    f[sep+1],
		readOnly:  slices.Contains(opts, "ro") || slices.Contains(super, "ro"),
		superOpts: super,
	}, nil
}

// unescape undoes the octal escapes (\040 for a space) the kernel writes
// for whitespace and backslashes in paths.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// membership is one line of /proc/self/cgroup: "id:controllers:path",
// with an empty controller list and id 0 for cgroup2.
type membership struct {
	controllers []string
	path        string
}

func parseProcCgroup(data, file string) ([]membership, error) {
	var out []membership
	for n, line := range strings.Split(data, "\n") {
		if line == "" {
			continue
		}
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			return nil, fmt.Errorf("cgroup: %s:%d: malformed line %q", file, n+1, line)
		}
		var ctls []string
		if parts[1] != "" {
			ctls = strings.Split(parts[1], ",")
		}
		out = append(out, membership{controllers: ctls, path: parts[2]})
	}
	return out, nil
}

// dirIn maps our cgroup path to a directory under m. A mount may show a
// subtree (a container's bind of its own cgroup), so the mount's root is
// stripped; a path outside that root is not reachable through m.
func dirIn(m mount, cgPath string) (string, bool) {
	rel, ok := strings.CutPrefix(cgPath, m.root)
	if !ok || (rel != "" && m.root != "/" && !strings.HasPrefix(rel, "/")) {
		return "", false
	}
	return path.Join(m.point, rel), true
}
