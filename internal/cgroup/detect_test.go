package cgroup_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/plugvisor/plugvisor/internal/cgroup"
)

// TestDetectThisMachine checks detection against statfs, which reads the
// same facts another way: cgroup2 at /sys/fs/cgroup/unified beside a tmpfs
// of v1 mounts is hybrid, as on the machines plugvisor's CI runs on.
func TestDetectThisMachine(t *testing.T) {
	l, ok := realLayout(t)
	if !ok {
		return
	}
	t.Log(l.Describe())
	t.Log(l.Capabilities())
	if fsType("/sys/fs/cgroup") == unix.CGROUP2_SUPER_MAGIC {
		if l.Mode != cgroup.ModeUnified {
			t.Fatalf("cgroup2 at /sys/fs/cgroup, detected %s", l.Mode)
		}
		return
	}
	if fsType("/sys/fs/cgroup/unified") != unix.CGROUP2_SUPER_MAGIC {
		if l.Mode != cgroup.ModeLegacy {
			t.Fatalf("neither unified nor hybrid by statfs, detected %s; want legacy", l.Describe())
		}
		return
	}
	if l.Mode != cgroup.ModeHybrid || !strings.HasPrefix(l.Describe(), "hybrid: ") {
		t.Fatalf("detected %s, want hybrid", l.Describe())
	}
	c := l.Capabilities()
	for what, s := range map[string]cgroup.Support{"kill": c.Kill, "events": c.Events, "clone-into": c.CloneInto} {
		if !s.OK() || !strings.Contains(s.How, "/sys/fs/cgroup/unified") && what != "clone-into" {
			t.Errorf("%s: %s, want it from the unified mount", what, s)
		}
	}
	if c.Join == "" {
		t.Error("hybrid, yet no join step is asked for")
	}
}

func fsType(path string) int64 {
	var st unix.Statfs_t
	if unix.Statfs(path, &st) != nil {
		return 0
	}
	return int64(st.Type)
}

// fake is a made-up machine: a mountinfo, a /proc/self/cgroup and cgroup
// files in a temporary directory that the mountinfo points into.
type fake struct {
	root      string
	mountinfo []string
	cgroup    string
	files     map[string]string // path under root: content
}

const fakePid = 4242

func (f fake) detect(t *testing.T) *cgroup.Layout {
	t.Helper()
	for name, content := range f.files {
		path := filepath.Join(f.root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mi := filepath.Join(f.root, "mountinfo")
	pc := filepath.Join(f.root, "proc-cgroup")
	write(t, mi, strings.ReplaceAll(strings.Join(f.mountinfo, "\n")+"\n", "ROOT", f.root))
	write(t, pc, f.cgroup)
	l, err := cgroup.DetectWith(cgroup.DetectOptions{MountInfo: mi, ProcCgroup: pc, Pid: fakePid})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(l.Describe())
	return l
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const rootMount = "22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/vda rw"

// assertNothing checks every feature says it is not provided, with why.
func assertNothing(t *testing.T, l *cgroup.Layout, why string) {
	t.Helper()
	c := l.Capabilities()
	if len(c.Missing()) != 8 {
		t.Errorf("Missing() = %q, want all eight features", c.Missing())
	}
	for _, m := range c.Missing() {
		if !strings.Contains(m, why) {
			t.Errorf("missing %q does not say %q", m, why)
		}
	}
	_, err := cgroup.New(l, cgroup.Options{})
	if !errors.Is(err, cgroup.ErrUnavailable) || !strings.Contains(err.Error(), why) {
		t.Errorf("New = %v, want ErrUnavailable saying %q", err, why)
	}
}

func TestDetectNone(t *testing.T) {
	l := fake{root: t.TempDir(), mountinfo: []string{rootMount}, cgroup: "0::/\n"}.detect(t)
	if l.Mode != cgroup.ModeNone {
		t.Fatalf("Mode = %s, want none", l.Mode)
	}
	assertNothing(t, l, "no cgroup filesystem")
}

func TestDetectReadOnly(t *testing.T) {
	l := fake{
		root: t.TempDir(),
		mountinfo: []string{rootMount,
			"30 22 0:26 / ROOT/cg ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate"},
		cgroup: "0::/\n",
		files:  map[string]string{"cg/cgroup.controllers": "cpu memory pids\n", "cg/cgroup.procs": "1\n"},
	}.detect(t)
	if l.Mode != cgroup.ModeNone {
		t.Fatalf("Mode = %s, want none", l.Mode)
	}
	assertNothing(t, l, "read-only")
}

// unifiedService is a systemd service with Delegate=yes on a unified
// machine; procs says who else is in its cgroup.
func unifiedService(t *testing.T, procs, controllers string) *cgroup.Layout {
	own := "cg/system.slice/plugvisor.service/"
	return fake{
		root:      t.TempDir(),
		mountinfo: []string{rootMount, "30 22 0:26 / ROOT/cg rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate"},
		cgroup:    "0::/system.slice/plugvisor.service\n",
		files: map[string]string{
			own + "cgroup.controllers": controllers, own + "cgroup.procs": procs,
			own + "cgroup.kill": "", own + "cgroup.subtree_control": "",
		},
	}.detect(t)
}

func TestDetectUnifiedAlone(t *testing.T) {
	l := unifiedService(t, fmt.Sprintf("%d\n", fakePid), "cpuset cpu io memory pids\n")
	v2 := l.V2
	if l.Mode != cgroup.ModeUnified || v2 == nil || !v2.MoveSelf || !v2.EnableOwn || v2.Base != v2.Own {
		t.Fatalf("layout %+v, want unified moving itself to a leaf", v2)
	}
	if !slices.Equal(v2.Use, []string{"cpu", "memory", "pids"}) {
		t.Errorf("Use = %v", v2.Use)
	}
	c := l.Capabilities()
	if !strings.Contains(c.MemoryMax.How, "cgroup2 memory") || !strings.Contains(c.Kill.How, "cgroup.kill") || c.Join != "" {
		t.Errorf("capabilities:\n%s", c)
	}
	if len(c.Missing()) != 0 {
		t.Errorf("Missing() = %q", c.Missing())
	}
}

// TestDetectUnifiedShared is plugvisor started from a shell: the shell
// stays in the cgroup, so plugins go in a sibling subtree.
func TestDetectUnifiedShared(t *testing.T) {
	l := unifiedService(t, fmt.Sprintf("17\n%d\n", fakePid), "cpu memory pids\n")
	v2 := l.V2
	if v2.MoveSelf || v2.EnableOwn || v2.Base != filepath.Dir(v2.Own) || len(v2.Use) != 3 {
		t.Fatalf("layout %+v, want a sibling subtree with controllers", v2)
	}
	if !strings.Contains(l.Describe(), "sibling") {
		t.Errorf("Describe() = %q does not say sibling", l.Describe())
	}
}

func TestDetectUnifiedNoControllers(t *testing.T) {
	l := unifiedService(t, fmt.Sprintf("%d\n", fakePid), "\n")
	c := l.Capabilities()
	if c.MemoryMax.OK() || !strings.Contains(c.MemoryMax.Why, "no memory controller") {
		t.Errorf("memory_max: %s", c.MemoryMax)
	}
	if !c.Kill.OK() || !c.Events.OK() || !c.CloneInto.OK() {
		t.Errorf("kill, events and clone-into need no controller:\n%s", c)
	}
}

// TestDetectContainerMount: a mount showing only a subtree of the
// hierarchy (a container's own cgroup) maps our path below its root.
func TestDetectContainerMount(t *testing.T) {
	l := fake{
		root:      t.TempDir(),
		mountinfo: []string{rootMount, `30 22 0:26 /docker/abc ROOT/my\040cg rw,relatime - cgroup2 cgroup2 rw`},
		cgroup:    "0::/docker/abc\n",
		files:     map[string]string{"my cg/cgroup.controllers": "memory\n", "my cg/cgroup.procs": "1\n"},
	}.detect(t)
	if l.V2 == nil || !strings.HasSuffix(l.V2.Own, "/my cg") {
		t.Fatalf("V2 = %+v, want our cgroup at the mount point", l.V2)
	}
	if l.V2.Base != l.V2.Own || len(l.V2.Use) != 0 {
		t.Errorf("shared cgroup at the mount's root must not reach above it: %+v", l.V2)
	}
}

// TestDetectLegacy: v1 only, cpu and cpuacct co-mounted as one hierarchy.
func TestDetectLegacy(t *testing.T) {
	l := fake{
		root: t.TempDir(),
		mountinfo: []string{rootMount,
			"31 22 0:27 / ROOT/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct",
			"32 22 0:28 / ROOT/memory rw - cgroup cgroup rw,memory",
			"33 22 0:29 / ROOT/systemd rw - cgroup cgroup rw,xattr,name=systemd"},
		cgroup: "3:cpu,cpuacct:/\n2:memory:/svc\n1:name=systemd:/svc\n",
		files:  map[string]string{"cpu,cpuacct/tasks": "", "memory/svc/tasks": ""},
	}.detect(t)
	if l.Mode != cgroup.ModeLegacy || len(l.V1) != 2 {
		t.Fatalf("layout %s, want legacy with two hierarchies", l.Describe())
	}
	c := l.Capabilities()
	if c.CloneInto.OK() || c.Events.How == "" || !strings.Contains(c.Kill.How, "SIGKILL every pid") {
		t.Errorf("capabilities:\n%s", c)
	}
	if c.PidsMax.OK() {
		t.Errorf("pids_max with no pids hierarchy: %s", c.PidsMax)
	}
}
