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
	if g.isV2(dir) {
		s.MemoryCurrent, err = readInt(dir, "memory.current")
		if exists(dir, "memory.peak") { // 5.19
			s.MemoryPeak, err = readIntJoin(err, dir, "memory.peak")
		}
		s.OOMKills, err = readKeyJoin(err, dir, "memory.events", "oom_kill")
		return err
	}
	s.MemoryCurrent, err = readInt(dir, "memory.usage_in_bytes")
	s.MemoryPeak, err = readIntJoin(err, dir, "memory.max_usage_in_bytes")
	s.OOMKills, err = readKeyJoin(err, dir, "memory.oom_control", "oom_kill")
	return err
}

// cpuStats prefers cgroup2's cpu.stat, which the kernel keeps for every
// cgroup2 group with or without the cpu controller, in µs.
func (g *Group) cpuStats(s *Stats) error {
	if g.v2 != "" {
		us, err := readKey(g.v2, "cpu.stat", "usage_usec")
		s.CPU = time.Duration(us) * time.Microsecond
		return err
	}
	dir, ok := g.places["cpuacct"]
	if !ok {
		return nil
	}
	ns, err := readInt(dir, "cpuacct.usage")
	s.CPU = time.Duration(ns)
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
		name := "memory.oom_control"
		if g.isV2(dir) {
			name = "memory.events"
		}
		var err error
		s.OOMKills, err = readKey(dir, name, "oom_kill")
		errs = append(errs, err)
	}
	if dir, ok := g.places["pids"]; ok {
		var err error
		s.PidsMaxHits, err = readKey(dir, "pids.events", "max")
		errs = append(errs, err)
	}
	return s, errors.Join(errs...)
}
