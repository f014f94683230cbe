package cgroup

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Mode is the cgroup layout of the machine as plugvisor can use it.
type Mode int

const (
	// ModeNone: no cgroup filesystem plugvisor may write.
	ModeNone Mode = iota
	// ModeUnified: cgroup2 only.
	ModeUnified
	// ModeHybrid: cgroup2 for kill and events, v1 hierarchies for limits.
	ModeHybrid
	// ModeLegacy: v1 hierarchies only.
	ModeLegacy
)

func (m Mode) String() string {
	switch m {
	case ModeUnified:
		return "unified"
	case ModeHybrid:
		return "hybrid"
	case ModeLegacy:
		return "legacy"
	}
	return "none"
}

// v2Controllers are those plugvisor enables in cgroup2: cpu.stat's usage
// is there without the cpu controller, which is wanted only for cpu.max.
func v2Controllers() []string { return []string{"cpu", "memory", "pids"} }

// v1Controllers are the v1 hierarchies plugvisor makes groups in. cpuset
// is left out: its groups refuse tasks until cpus and mems are copied in,
// and plugvisor sets no CPU affinity. So is the v1 freezer: a plugin's
// processes are born in the v1 groups of the supervisor thread that forks
// them, which stays there, and a frozen supervisor thread can stall the Go
// runtime (a stop-the-world waits for it, and the thaw with it). Without
// cgroup.kill, the kill goes in rounds without freezing instead.
func v1Controllers() []string { return []string{"memory", "pids", "cpu", "cpuacct"} }

// DetectOptions points detection at other files than the process's own,
// for tests and for inspecting another process; zero values mean self.
type DetectOptions struct {
	MountInfo  string // default /proc/self/mountinfo
	ProcCgroup string // default /proc/self/cgroup
	Pid        int    // the process that will supervise; default os.Getpid()
}

// Layout is what Detect found: which hierarchies plugvisor can write, where
// its own cgroup is in each, and, in Problems, why anything is unusable.
type Layout struct {
	Mode     Mode
	V2       *V2Tree  // nil without a usable cgroup2 mount
	V1       []V1Tree // usable v1 hierarchies carrying controllers plugvisor uses
	Problems []string
	pid      int
}

// V1Tree is a v1 hierarchy: one mount, one or more controllers.
type V1Tree struct {
	Mount       string
	Controllers []string // those of v1Controllers this hierarchy carries
	Own         string   // directory of plugvisor's cgroup in it
}

// Detect reads the layout of the running process.
func Detect() (*Layout, error) { return DetectWith(DetectOptions{}) }

// DetectWith reads the layout from the files opts names. It changes
// nothing: `plugvisor check` can call it to say what would be enforced.
func DetectWith(opts DetectOptions) (*Layout, error) {
	opts = opts.withDefaults()
	mounts, cgs, err := readProcFiles(opts)
	if err != nil {
		return nil, err
	}
	l := &Layout{pid: opts.Pid}
	l.V1 = l.findV1(mounts, cgs)
	l.V2 = l.findV2(mounts, cgs)
	l.Mode = modeOf(l.V2 != nil, len(l.V1) > 0)
	if l.Mode == ModeNone && len(l.Problems) == 0 {
		l.Problems = append(l.Problems, "no cgroup filesystem in "+opts.MountInfo)
	}
	return l, nil
}

func (o DetectOptions) withDefaults() DetectOptions {
	if o.MountInfo == "" {
		o.MountInfo = "/proc/self/mountinfo"
	}
	if o.ProcCgroup == "" {
		o.ProcCgroup = "/proc/self/cgroup"
	}
	if o.Pid == 0 {
		o.Pid = os.Getpid()
	}
	return o
}

func readProcFiles(o DetectOptions) ([]mount, []membership, error) {
	mi, err := os.ReadFile(o.MountInfo)
	if err != nil {
		return nil, nil, fileErr("read", o.MountInfo, err)
	}
	pc, err := os.ReadFile(o.ProcCgroup)
	if err != nil {
		return nil, nil, fileErr("read", o.ProcCgroup, err)
	}
	mounts, err := parseMountinfo(string(mi), o.MountInfo)
	if err != nil {
		return nil, nil, err
	}
	cgs, err := parseProcCgroup(string(pc), o.ProcCgroup)
	return mounts, cgs, err
}

func modeOf(v2, v1 bool) Mode {
	switch {
	case v2 && v1:
		return ModeHybrid
	case v2:
		return ModeUnified
	case v1:
		return ModeLegacy
	}
	return ModeNone
}

func (l *Layout) problem(format string, args ...any) {
	l.Problems = append(l.Problems, fmt.Sprintf(format, args...))
}

// usableDir says whether plugvisor may make groups in dir, recording why
// not: a read-only mount is the usual container case, EACCES the
// unprivileged user.
func (l *Layout) usableDir(m mount, dir, what string) bool {
	if m.readOnly {
		l.problem("%s at %s is mounted read-only", what, m.point)
		return false
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		l.problem("%s: our cgroup %s is not there (another cgroup namespace?)", what, dir)
		return false
	}
	if err := writable(dir); err != nil {
		l.problem("%s: %v", what, err)
		return false
	}
	return true
}

func (l *Layout) findV1(mounts []mount, cgs []membership) []V1Tree {
	var trees []V1Tree
	for _, m := range mounts {
		ctls := carried(m)
		if len(ctls) == 0 || covered(trees, ctls[0]) {
			continue
		}
		t, ok := l.v1Tree(m, ctls, cgs)
		if ok {
			trees = append(trees, t)
		}
	}
	return trees
}

// carried is the controllers of v1Controllers a v1 mount's super options
// name; name=systemd and other named hierarchies carry none.
func carried(m mount) []string {
	if m.fstype != "cgroup" {
		return nil
	}
	var ctls []string
	for _, c := range v1Controllers() {
		if slices.Contains(m.superOpts, c) {
			ctls = append(ctls, c)
		}
	}
	return ctls
}

func covered(trees []V1Tree, ctl string) bool {
	return slices.ContainsFunc(trees, func(t V1Tree) bool { return slices.Contains(t.Controllers, ctl) })
}

func (l *Layout) v1Tree(m mount, ctls []string, cgs []membership) (V1Tree, bool) {
	what := "v1 " + strings.Join(ctls, ",")
	i := slices.IndexFunc(cgs, func(c membership) bool { return slices.Contains(c.controllers, ctls[0]) })
	if i < 0 {
		l.problem("%s at %s: not in /proc/self/cgroup", what, m.point)
		return V1Tree{}, false
	}
	dir, ok := dirIn(m, cgs[i].path)
	if !ok {
		l.problem("%s at %s: our cgroup %s is outside the mount's root %s", what, m.point, cgs[i].path, m.root)
		return V1Tree{}, false
	}
	if !l.usableDir(m, dir, what) {
		return V1Tree{}, false
	}
	return V1Tree{Mount: m.point, Controllers: ctls, Own: dir}, true
}

// Describe is one line for `plugvisor check` and the console.
func (l *Layout) Describe() string {
	var parts []string
	if l.V2 != nil {
		parts = append(parts, l.V2.describe())
	}
	for _, t := range l.V1 {
		parts = append(parts, fmt.Sprintf("v1 %s at %s", strings.Join(t.Controllers, ","), t.Own))
	}
	parts = append(parts, l.Problems...)
	return l.Mode.String() + ": " + strings.Join(parts, "; ")
}

func kernelHasKill() bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	var major, minor int
	fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &major, &minor)
	return major > 5 || major == 5 && minor >= 14
}
