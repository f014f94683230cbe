// Package cgroup gives each plugin instance a cgroup of its own: limits on
// memory, CPU and processes, a kill that a plugin cannot leave by calling
// setsid or double-forking, "all gone" as a kernel fact rather than a pid
// count, and the figures (memory, CPU, OOM kills) that include a plugin's
// children.
//
// # Layouts
//
// The machines plugvisor runs on differ, so [Detect] reads
// /proc/self/mountinfo and /proc/self/cgroup and reports one of:
//
//   - unified: cgroup2 only, with controllers (memory, pids, cpu) available
//     in plugvisor's own cgroup, typically a systemd service with
//     Delegate=yes. cgroup2 forbids processes in a cgroup that hands
//     controllers to its children ("no internal processes"), so plugvisor
//     cannot put plugins below the cgroup it runs in while it is still
//     there. When plugvisor is alone in its cgroup (a service), [New] moves
//     it into a leaf of its own (<own>/supervisor) and enables the
//     controllers; when it shares its cgroup (started from a shell, with the
//     shell beside it), plugins go in a sibling subtree (<parent of
//     own>/plugvisor-<pid>), which gets the controllers the parent already
//     hands out. The root cgroup is exempt from the rule and is used as is.
//   - hybrid: cgroup2 mounted (usually at /sys/fs/cgroup/unified) without
//     controllers, beside v1 controllers mounted per hierarchy. The cgroup2
//     group still gives clone-into-cgroup, cgroup.kill and cgroup.events;
//     limits and most figures come from the v1 groups.
//   - legacy: v1 only. No clone-into, no cgroup.kill: kill is SIGKILL of
//     every listed pid, in rounds until nothing new shows (the v1 freezer
//     is not used: the supervisor's forking thread sits in a plugin's v1
//     groups, and must never be frozen).
//   - none: no cgroup filesystem, or none plugvisor may write (read-only
//     mount in a container, an unprivileged user). [Layout.Capabilities]
//     says nothing is enforced and why; [New] returns an error wrapping
//     [ErrUnavailable] rather than a handle that pretends, so the
//     supervisor keeps its process-group fallback and says so.
//
// # Joining
//
// On cgroup2 a process is cloned into its group ([Group.CgroupFD] for
// SysProcAttr.UseCgroupFD), so it runs no instruction outside it. v1 has no
// equivalent: a launcher step (plugvisor re-executed in the child) must call
// [Group.AddProc] with its own pid, and only then exec the plugin, so
// nothing forks before it is contained. [Group.NeedsJoin] says when that is
// required. AddProc also writes the cgroup2 group, so a process that was not
// cloned in is still covered by cgroup.kill.
//
// v1 groups are made only where something needs them: [Manager.NewGroup]
// makes a directory in every hierarchy, for an instance with limits;
// [Manager.NewUnlimitedGroup] makes the cgroup2 one alone where there is
// cgroup2, which kills, says empty and counts CPU with no controller, so on
// a hybrid machine an instance without limits needs no thread to join
// anything.
//
// # Why not github.com/containerd/cgroups/v3
//
// It was read (v3.1.3) and not used. Its mode detection is a package-level
// sync.Once over statfs of the hard-coded /sys/fs/cgroup and
// /sys/fs/cgroup/unified, so it cannot be pointed at a test layout and
// ignores where mountinfo says things are. In hybrid mode it offers only its
// cgroup1 package: nothing uses the unified mount, so no clone-into fd and
// no cgroup.kill there, which is the one kill on this machine kind that
// nothing escapes. Its cgroup1 package can freeze and thaw but has no
// kill-until-empty; its cgroup2 Manager has Kill and a populated flag, but
// neither places groups with the no-internal-processes rule in mind nor
// hands out a directory fd. Limits go through the OCI runtime-spec types,
// and it brings cilium/ebpf, go-systemd, godbus, protobuf and a logger for
// what is, for plugvisor, writing a dozen small files. This package needs
// only golang.org/x/sys, which plugvisor already uses.
//
// A root plugin can still leave any cgroup by writing another cgroup.procs;
// containment holds for plugins that run under their own user.
package cgroup
