package cgroup

// ForceKillEach makes g.Kill take the freeze-and-signal path, the one
// machines without cgroup.kill use, on a kernel that has cgroup.kill.
func ForceKillEach(g *Group) { g.noKillFile = true }
