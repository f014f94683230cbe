package cgroup

import (
	"errors"
	"time"
)

// Stats are the group's figures, its processes' children included. A
// figure the layout does not provide is zero; Capabilities says which.
type Stats struct {
	MemoryCurrent int64 // bytes
	MemoryPeak    int64 // bytes, the most since the group was made
	CPU           time.Duration
	PidsCurrent   int64
	OOMKills      int64 // processes the kernel OOM-killed for memory_max
	PidsMaxHits   int64 // forks refused by pids_max
}

// Stats reads the figures. After an OOM kill, OOMKills > 0 is what lets
// the supervisor say "killed: out of memory" rather than "killed".
func (g *Group) Stats() (Stats, error) {
	var s Stats
	return s, errors.Join(g.memoryStats(&s), g.cpuStats(&s), g.pidsStats(&s))
}

func (g *Group) memoryStats(s *Stats) (err error) {
	dir, ok := g.places["memory"]
	if !ok {
		return nil
	}
	files := memoryFilesOf(g.isV2(dir))
	s.MemoryCurrent, err = readInt(dir, files.current)
	if exists(dir, files.peak) { // cgroup2's since 5.19
		s.MemoryPeak, err = readIntJoin(err, dir, files.peak)
	}
	s.OOMKills, err = readKeyJoin(err, dir, files.events, "oom_kill")
	return err
}

// memoryFiles name a memory controller's figures, which cgroup2 and v1
// name apart.
type memoryFiles struct{ current, peak, events string }

func memoryFilesOf(v2 bool) memoryFiles {
	if v2 {
		return memoryFiles{"memory.current", "memory.peak", "memory.events"}
	}
	return memoryFiles{"memory.usage_in_bytes", "memory.max_usage_in_bytes", "memory.oom_control"}
}

// cpuSource is where the group's CPU time is read: cgroup2's cpu.stat,
// which the kernel keeps for every cgroup2 group with or without the cpu
// controller (key usage_usec, in µs), else v1's cpuacct.usage (the whole
// file, in ns); ok is false with neither.
func (g *Group) cpuSource() (dir, name, key string, unit time.Duration, ok bool) {
	if g.v2 != "" {
		return g.v2, "cpu.stat", "usage_usec", time.Microsecond, true
	}
	dir, ok = g.places["cpuacct"]
	return dir, "cpuacct.usage", "", time.Nanosecond, ok
}

func (g *Group) cpuStats(s *Stats) error {
	dir, name, key, unit, ok := g.cpuSource()
	if !ok {
		return nil
	}
	var n int64
	var err error
	if key == "" {
		n, err = readInt(dir, name)
	} else {
		n, err = readKey(dir, name, key)
	}
	s.CPU = time.Duration(n) * unit
	return err
}

func (g *Group) pidsStats(s *Stats) (err error) {
	dir, ok := g.places["pids"]
	if !ok {
		return nil
	}
	s.PidsCurrent, err = readInt(dir, "pids.current")
	s.PidsMaxHits, err = readKeyJoin(err, dir, "pids.events", "max")
	return err
}

// readIntJoin and readKeyJoin carry an earlier error along, so one
// unreadable file does not hide the other figures.
func readIntJoin(prev error, dir, name string) (int64, error) {
	n, err := readInt(dir, name)
	return n, errors.Join(prev, err)
}

func readKeyJoin(prev error, dir, name, key string) (int64, error) {
	n, err := readKey(dir, name, key)
	return n, errors.Join(prev, err)
}

// LimitHits are the OOMKills and PidsMaxHits of Stats alone, which a
// plugin's start and end read to tell a run ended by its limits: a group
// without memory or pids controller (no limits asked on a hybrid
// machine) costs no read at all.
func (g *Group) LimitHits() (Stats, error) {
	var s Stats
	var errs []error
	if dir, ok := g.places["memory"]; ok {
		var err error
		s.OOMKills, err = readKey(dir, memoryFilesOf(g.isV2(dir)).events, "oom_kill")
		errs = append(errs, err)
	}
	if dir, ok := g.places["pids"]; ok {
		var err error
		s.PidsMaxHits, err = readKey(dir, "pids.events", "max")
		errs = append(errs, err)
	}
	return s, errors.Join(errs...)
}
