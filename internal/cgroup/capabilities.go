package cgroup

import (
	"fmt"
	"slices"
	"strings"
)

// Support is how one feature is provided: How when it is, Why when not.
type Support struct {
	How string
	Why string
}

// OK says the feature is provided.
func (s Support) OK() bool { return s.How != "" }

func (s Support) String() string {
	if s.OK() {
		return s.How
	}
	return "not enforced: " + s.Why
}

// Capabilities say, per feature, what a plugin group enforces and how:
// the text for `plugvisor check`, the start-up log and the console's Info.
type Capabilities struct {
	Mode       Mode
	CloneInto  Support // the child starts inside the group
	Join       string  // non-empty: the v1 groups a child is born in through its forking thread
	MemoryMax  Support
	MemoryHigh Support
	CPUMax     Support
	PidsMax    Support
	Kill       Support
	Events     Support // "all gone" from the kernel
	CPUUsage   Support
}

// Capabilities says what groups made from l will enforce.
func (l *Layout) Capabilities() Capabilities {
	return Capabilities{
		Mode:       l.Mode,
		CloneInto:  l.cloneInto(),
		Join:       l.join(),
		MemoryMax:  l.limit("memory", "memory.max, memory.swap.max", "memory.limit_in_bytes, memory.memsw.limit_in_bytes"),
		MemoryHigh: l.limit("memory", "memory.high", "memory.soft_limit_in_bytes: reclaimed first under host pressure, not throttled"),
		CPUMax:     l.limit("cpu", "cpu.max", "cpu.cfs_quota_us"),
		PidsMax:    l.limit("pids", "pids.max", "pids.max"),
		Kill:       l.kill(),
		Events:     l.events(),
		CPUUsage:   l.cpuUsage(),
	}
}

func (l *Layout) why() string {
	if len(l.Problems) == 0 {
		return "no cgroups"
	}
	return strings.Join(l.Problems, "; ")
}

func (l *Layout) treeOf(ctl string) (V1Tree, bool) {
	i := slices.IndexFunc(l.V1, func(t V1Tree) bool { return slices.Contains(t.Controllers, ctl) })
	if i < 0 {
		return V1Tree{}, false
	}
	return l.V1[i], true
}

func (l *Layout) limit(ctl, v2Files, v1Files string) Support {
	if t, ok := l.treeOf(ctl); ok {
		return Support{How: fmt.Sprintf("v1 %s controller under %s (%s)", ctl, t.Own, v1Files)}
	}
	if l.V2 != nil && slices.Contains(l.V2.Use, ctl) {
		return Support{How: fmt.Sprintf("cgroup2 %s controller under %s (%s)", ctl, l.V2.Base, v2Files)}
	}
	if l.Mode == ModeNone {
		return Support{Why: l.why()}
	}
	if l.V2 != nil && slices.Contains(l.V2.Controllers, ctl) {
		return Support{Why: fmt.Sprintf("cgroup2 %s controller not usable for plugins: %s", ctl, l.why())}
	}
	return Support{Why: fmt.Sprintf("no %s controller: no v1 hierarchy mounted and not in %s/cgroup.controllers", ctl, l.v2Own())}
}

func (l *Layout) v2Own() string {
	if l.V2 == nil {
		return "(no cgroup2)"
	}
	return l.V2.Own
}

func (l *Layout) cloneInto() Support {
	if l.V2 == nil {
		return Support{Why: "no cgroup2 mount: " + l.why()}
	}
	return Support{How: "clone3 CLONE_INTO_CGROUP into the cgroup2 group (SysProcAttr.UseCgroupFD)"}
}

func (l *Layout) join() string {
	var ctls []string
	for _, t := range l.V1 {
		ctls = append(ctls, t.Controllers...)
	}
	if len(ctls) == 0 {
		return ""
	}
	return "v1 " + strings.Join(ctls, ",") + ": the forking thread joins the groups (JoinThread), so the child is born in them"
}

func (l *Layout) kill() Support {
	switch {
	case l.V2 != nil && l.V2.Kill:
		return Support{How: "cgroup.kill (cgroup2 at " + l.V2.Mount + ")"}
	case l.V2 != nil:
		return Support{How: "freeze (cgroup.freeze), SIGKILL every pid in cgroup.procs, thaw, until none is new"}
	case l.Mode != ModeNone:
		return Support{How: "SIGKILL every pid in cgroup.procs until none is new (no freezer: a fork may need another round)"}
	}
	return Support{Why: l.why()}
}

func (l *Layout) events() Support {
	switch {
	case l.V2 != nil:
		return Support{How: "cgroup.events populated, watched with inotify (cgroup2 at " + l.V2.Mount + ")"}
	case l.Mode != ModeNone:
		return Support{How: "polling cgroup.procs (v1 has no per-group notification)"}
	}
	return Support{Why: l.why()}
}

func (l *Layout) cpuUsage() Support {
	if l.V2 != nil {
		return Support{How: "cgroup2 cpu.stat usage_usec"}
	}
	if _, ok := l.treeOf("cpuacct"); ok {
		return Support{How: "v1 cpuacct.usage"}
	}
	return Support{Why: "no cgroup2 and no v1 cpuacct: " + l.why()}
}

// String is one line per feature.
func (c Capabilities) String() string {
	lines := []string{"cgroups: " + c.Mode.String()}
	for _, f := range c.features() {
		lines = append(lines, f.name+": "+f.Support.String())
	}
	if c.Join != "" {
		lines = append(lines, "join: "+c.Join)
	}
	return strings.Join(lines, "\n")
}

// Missing names the features not provided, with why.
func (c Capabilities) Missing() []string {
	var out []string
	for _, f := range c.features() {
		if !f.OK() {
			out = append(out, f.name+": "+f.Why)
		}
	}
	return out
}

type namedSupport struct {
	name string
	Support
}

func (c Capabilities) features() []namedSupport {
	return []namedSupport{
		{"clone-into", c.CloneInto}, {"memory_max", c.MemoryMax}, {"memory_high", c.MemoryHigh},
		{"cpu_max", c.CPUMax}, {"pids_max", c.PidsMax}, {"kill", c.Kill},
		{"events", c.Events}, {"cpu usage", c.CPUUsage},
	}
}
