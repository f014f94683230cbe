package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ErrUnavailable is wrapped by New when the layout has nothing to write:
// a handle whose Kill did nothing would be worse than none.
var ErrUnavailable = errors.New("cgroups unavailable")

// Options name plugvisor's own directories.
type Options struct {
	// Name of the parent made in each hierarchy; default plugvisor-<pid>,
	// so two supervisors on one machine do not meet.
	Name string
	// SelfLeaf is where plugvisor moves itself on cgroup2 when it must
	// empty its own cgroup; default "supervisor".
	SelfLeaf string
}

// Manager owns the plugvisor parent directories and makes plugin groups
// in them. NewGroup may be called from several goroutines; Close is the
// last call.
type Manager struct {
	layout  Layout // a copy: New may find the plan does not hold
	v2      string // parent directory in cgroup2, "" if none
	v1      []string
	v1Trees []V1Tree
}

// New makes the parent directories l describes, first moving plugvisor
// into a leaf and enabling controllers where the cgroup2 plan says so. It
// must run before plugvisor starts any other process (the watchdog), or
// plugvisor will not be alone in its cgroup any more.
func New(l *Layout, o Options) (*Manager, error) {
	if l.Mode == ModeNone {
		return nil, fmt.Errorf("cgroup: %w: %s", ErrUnavailable, l.Describe())
	}
	o = o.withDefaults(l.pid)
	m := &Manager{layout: *l, v1Trees: l.V1}
	m.layout.Problems = append([]string(nil), l.Problems...)
	if err := m.makeV2(o); err != nil {
		return nil, err
	}
	for _, t := range l.V1 {
		dir := filepath.Join(t.Own, o.Name)
		if err := mkdir(dir); err != nil {
			return nil, errors.Join(err, m.Close())
		}
		m.v1 = append(m.v1, dir)
	}
	return m, nil
}

func (o Options) withDefaults(pid int) Options {
	if o.Name == "" {
		o.Name = "plugvisor-" + strconv.Itoa(pid)
	}
	if o.SelfLeaf == "" {
		o.SelfLeaf = "supervisor"
	}
	return o
}

func (m *Manager) makeV2(o Options) error {
	if m.layout.V2 == nil {
		return nil
	}
	t := *m.layout.V2
	m.layout.V2 = &t
	if err := m.prepareOwn(&t, o); err != nil {
		m.degrade(&t, err)
	}
	dir := filepath.Join(t.Base, o.Name)
	if err := mkdir(dir); err != nil {
		return err
	}
	m.v2 = dir
	if err := enable(dir, t.Use); err != nil {
		m.degrade(&t, err)
	}
	t.Kill = exists(dir, "cgroup.kill")
	return nil
}

func (m *Manager) prepareOwn(t *V2Tree, o Options) error {
	if t.MoveSelf {
		if err := moveSelf(filepath.Join(t.Own, o.SelfLeaf), m.layout.pid); err != nil {
			return err
		}
	}
	if t.EnableOwn {
		return enable(t.Own, t.Use)
	}
	return nil
}

// degrade keeps the cgroup2 group for kill and events when its
// controllers cannot be had, and says so where Capabilities will show it.
func (m *Manager) degrade(t *V2Tree, err error) {
	m.layout.problem("cgroup2 controllers %s not enabled: %v", strings.Join(t.Use, ","), err)
	t.Use = nil
}

// Layout is the layout as New left it.
func (m *Manager) Layout() *Layout { return &m.layout }

// Capabilities says what plugin groups of m enforce and how.
func (m *Manager) Capabilities() Capabilities { return m.layout.Capabilities() }

// NewGroup makes the group of one plugin instance in every hierarchy. The
// name is a single path element: the instance's name.
func (m *Manager) NewGroup(name string) (*Group, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	g := &Group{name: name, places: map[string]string{}}
	if err := m.makeGroupDirs(g); err != nil {
		return nil, errors.Join(err, g.rmdirs())
	}
	return g, nil
}

// NewUnlimitedGroup makes the group of an instance that has no limits:
// where the layout has cgroup2, its directory alone, which kills (nothing
// escapes cgroup.kill), says when all are gone and counts CPU (cpu.stat is
// kept in every cgroup2 group, with or without controllers), and whose
// memory Usage sums from its members. With no v1 directory no thread has
// to join it: on a hybrid machine such a plugin is forked from any thread,
// and costs neither a thread nor a v1 move. Without cgroup2 it is
// NewGroup: v1 is then all the containment there is.
func (m *Manager) NewUnlimitedGroup(name string) (*Group, error) {
	if m.v2 == "" {
		return m.NewGroup(name)
	}
	if err := validName(name); err != nil {
		return nil, err
	}
	g := &Group{name: name, places: map[string]string{}}
	if err := g.addV2(filepath.Join(m.v2, g.name), m.layout.V2); err != nil {
		return nil, errors.Join(err, g.rmdirs())
	}
	return g, nil
}

func (m *Manager) makeGroupDirs(g *Group) error {
	if m.v2 != "" {
		if err := g.addV2(filepath.Join(m.v2, g.name), m.layout.V2); err != nil {
			return err
		}
	}
	for i, parent := range m.v1 {
		if err := g.addV1(filepath.Join(parent, g.name), m.v1Trees[i]); err != nil {
			return err
		}
	}
	return nil
}

func validName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 200 ||
		strings.ContainsAny(name, "/\n\x00") {
		return fmt.Errorf("cgroup: group name %q: want one path element of at most 200 bytes", name)
	}
	return nil
}

// Parents are the directories m made its groups in, cgroup2 first: what a
// watchdog removes when the supervisor has died.
func (m *Manager) Parents() []string {
	var out []string
	if m.v2 != "" {
		out = append(out, m.v2)
	}
	return append(out, m.v1...)
}

// Close removes the parent directories; groups must be removed first.
// plugvisor stays in its leaf: its old cgroup hands out controllers now
// and cannot take it back.
func (m *Manager) Close() error {
	var errs []error
	for _, dir := range append(append([]string(nil), m.v1...), m.v2) {
		if dir != "" {
			errs = append(errs, rmdir(dir))
		}
	}
	m.v1, m.v2 = nil, ""
	return errors.Join(errs...)
}

// Holds says whether pid (a zombie included: the kernel keeps its cgroup
// until it is reaped) is in one of m's groups, from /proc/<pid>/cgroup.
func (m *Manager) Holds(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(b)) {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) == 3 && m.under(parts[1], parts[2]) {
			return true
		}
	}
	return false
}

// under says whether the cgroup path of one /proc/<pid>/cgroup line lies
// below one of m's parent directories.
func (m *Manager) under(controllers, path string) bool {
	if controllers == "" {
		return m.v2 != "" && m.layout.V2 != nil && below(filepath.Join(m.layout.V2.Mount, path), m.v2)
	}
	for i, dir := range m.v1 {
		if slices.Contains(strings.Split(controllers, ","), m.v1Trees[i].Controllers[0]) &&
			below(filepath.Join(m.v1Trees[i].Mount, path), dir) {
			return true
		}
	}
	return false
}

func below(path, dir string) bool { return strings.HasPrefix(path, dir+"/") }
