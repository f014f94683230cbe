package cgroup

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// V2Tree is plugvisor's place in the cgroup2 hierarchy and where its
// plugin groups will go.
type V2Tree struct {
	Mount       string
	Path        string   // our cgroup as /proc/self/cgroup names it
	Own         string   // its directory
	Controllers []string // of v2Controllers, those Own may hand out and v1 does not hold
	Delegated   bool     // systemd marked Own delegated (Delegate=yes)
	Alone       bool     // plugvisor is the only process in Own
	Kill        bool     // the kernel has cgroup.kill (5.14)

	// Base is the directory the plugvisor parent is made in; Use the
	// controllers plugin groups get. MoveSelf and EnableOwn are the steps
	// New takes first, and Placement says in words why.
	Base      string
	Use       []string
	MoveSelf  bool
	EnableOwn bool
	Placement string
}

func (l *Layout) findV2(mounts []mount, cgs []membership) *V2Tree {
	i := slices.IndexFunc(cgs, func(c membership) bool { return len(c.controllers) == 0 })
	for _, m := range mounts {
		if m.fstype != "cgroup2" || i < 0 {
			continue
		}
		dir, ok := dirIn(m, cgs[i].path)
		if !ok || !l.usableDir(m, dir, "cgroup2") {
			continue
		}
		t := &V2Tree{Mount: m.point, Path: cgs[i].path, Own: dir}
		if err := t.read(l); err != nil {
			l.problem("%v", err)
			continue
		}
		t.place(l)
		return t
	}
	return nil
}

// read fills in what Own says about itself.
func (t *V2Tree) read(l *Layout) error {
	avail, err := readFile(t.Own, "cgroup.controllers")
	if err != nil {
		return err
	}
	for _, c := range v2Controllers() {
		if slices.Contains(strings.Fields(avail), c) && !covered(l.V1, c) {
			t.Controllers = append(t.Controllers, c)
		}
	}
	pids, err := readPids(t.Own)
	if err != nil {
		return err
	}
	t.Alone = len(pids) == 1 && pids[0] == l.pid
	t.Delegated = delegated(t.Own)
	t.Kill = exists(t.Own, "cgroup.kill") || t.Path == "/" && kernelHasKill()
	return nil
}

// delegated reads the xattr systemd (>= 251) sets on a Delegate=yes
// cgroup; without it plugvisor still works as root, but systemd may
// reorganise a subtree it was not told it gave away.
func delegated(dir string) bool {
	buf := make([]byte, 8)
	for _, attr := range []string{"trusted.delegate", "user.delegate"} {
		n, err := unix.Getxattr(dir, attr, buf)
		if err == nil && string(buf[:n]) == "1" {
			return true
		}
	}
	return false
}

// place applies the no-internal-processes rule: a non-root cgroup hands
// controllers to children only while no process is in it, and plugvisor
// is in Own.
func (t *V2Tree) place(l *Layout) {
	parent := filepath.Dir(t.Own)
	switch {
	case len(t.Controllers) == 0:
		t.Base = t.Own
		t.Placement = "no cgroup2 controllers: its groups give clone-into, kill and events"
	case t.Path == "/":
		t.Base, t.Use, t.EnableOwn = t.Own, t.Controllers, true
		t.Placement = "the root cgroup is exempt from the no-internal-processes rule"
	case t.Alone:
		t.Base, t.Use, t.MoveSelf, t.EnableOwn = t.Own, t.Controllers, true, true
		t.Placement = "plugvisor is alone in its cgroup: it moves to a leaf so the cgroup can hand out controllers"
	case t.Own != t.Mount && writable(parent) == nil:
		t.Base, t.Use = parent, t.Controllers
		t.Placement = fmt.Sprintf("plugvisor shares its cgroup: plugin groups go in a sibling subtree under %s", parent)
	default:
		t.Base = t.Own
		t.Placement = "no controllers for plugins"
		l.problem("cgroup2 controllers %s not usable: %s holds other processes (no internal processes) and %s",
			strings.Join(t.Controllers, ","), t.Own, noSibling(t, parent))
	}
}

func noSibling(t *V2Tree, parent string) string {
	if t.Own == t.Mount {
		return "is the top of the mount, so there is no sibling to use"
	}
	return parent + " is not writable"
}

func (t *V2Tree) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cgroup2 at %s, our cgroup %s", t.Mount, t.Path)
	if t.Delegated {
		b.WriteString(" (delegated)")
	}
	if len(t.Use) > 0 {
		fmt.Fprintf(&b, ", controllers %s", strings.Join(t.Use, ","))
	}
	if !t.Kill {
		b.WriteString(", no cgroup.kill (kernel < 5.14)")
	}
	b.WriteString(": " + t.Placement)
	return b.String()
}

// enable writes "+cpu +memory +pids" in one write: the kernel applies all
// or none, so a failure leaves nothing half enabled.
func enable(dir string, ctls []string) error {
	if len(ctls) == 0 {
		return nil
	}
	return writeFile(dir, "cgroup.subtree_control", "+"+strings.Join(ctls, " +"))
}

// moveSelf puts plugvisor into leaf, emptying Own so it can enable
// controllers. Writing a pid to cgroup.procs moves all its threads.
func moveSelf(leaf string, pid int) error {
	if err := mkdir(leaf); err != nil {
		return err
	}
	return writeFile(leaf, "cgroup.procs", strconv.Itoa(pid))
}

// populatedV2 reads the kernel's own answer, which counts every process
// in the group and below, whichever session or parent it has.
func populatedV2(dir string) (bool, error) {
	n, err := readKey(dir, "cgroup.events", "populated")
	return n != 0, err
}
