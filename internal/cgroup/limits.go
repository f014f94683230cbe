package cgroup

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// ErrNotEnforced is wrapped by SetLimits for each limit the group has no
// controller for; the others are still set.
var ErrNotEnforced = errors.New("not enforced")

// Limits of one plugin instance; zero means no limit.
type Limits struct {
	MemoryMax  int64   // bytes; past it the kernel OOM-kills in the group
	MemoryHigh int64   // bytes; cgroup2 throttles and reclaims, v1 only reclaims first under host pressure
	CPUMax     float64 // share of one core: 0.25 is a quarter, 2 is two cores
	PidsMax    int64   // processes and threads; fork fails past it
}

// cpuPeriod is the scheduler's default CFS period, 100ms in µs.
const cpuPeriod = 100000

// SetLimits sets all four limits, zero ones back to unlimited, so it can
// be called again with new values.
func (g *Group) SetLimits(l Limits) error {
	return errors.Join(
		g.setMemory(l.MemoryMax, l.MemoryHigh),
		g.setCPU(l.CPUMax),
		g.setPids(l.PidsMax),
	)
}

func (g *Group) setMemory(max, high int64) error {
	dir, ok := g.places["memory"]
	if !ok {
		return missing("memory_max/memory_high", max != 0 || high != 0, "no memory controller")
	}
	if g.isV2(dir) {
		return memoryV2(dir, max, high)
	}
	return memoryV1(dir, max, high)
}

func (g *Group) setCPU(share float64) error {
	dir, ok := g.places["cpu"]
	if !ok {
		return missing("cpu_max", share != 0, "no cpu controller")
	}
	if share < 0 || math.IsNaN(share) || math.IsInf(share, 0) {
		return fmt.Errorf("cgroup: cpu_max %v: want a share of a core above 0", share)
	}
	quota := cpuQuota(share)
	if g.isV2(dir) {
		return writeFile(dir, "cpu.max", v2Value(quota, "max")+" "+strconv.Itoa(cpuPeriod))
	}
	return cpuV1(dir, quota)
}

// cpuQuota is the quota in µs per period, -1 for none; the kernel refuses
// quotas under 1ms.
func cpuQuota(share float64) int64 {
	if share == 0 {
		return -1
	}
	return max(int64(math.Round(share*cpuPeriod)), 1000)
}

func (g *Group) setPids(n int64) error {
	dir, ok := g.places["pids"]
	if !ok {
		return missing("pids_max", n != 0, "no pids controller")
	}
	if n < 0 {
		return fmt.Errorf("cgroup: pids_max %d: want 0 (none) or more", n)
	}
	return writeFile(dir, "pids.max", v2Value(orNone(n), "max"))
}

func (g *Group) isV2(dir string) bool { return dir == g.v2 }

// missing is an error only for a limit that was asked for: an unset limit
// needs no controller.
func missing(what string, asked bool, why string) error {
	if !asked {
		return nil
	}
	return fmt.Errorf("cgroup: %s: %w: %s", what, ErrNotEnforced, why)
}

// orNone maps plugvisor's zero (no limit) to the kernel's -1.
func orNone(n int64) int64 {
	if n == 0 {
		return -1
	}
	return n
}

// v2Value spells -1 as cgroup2's word for no limit.
func v2Value(n int64, none string) string {
	if n < 0 {
		return none
	}
	return strconv.FormatInt(n, 10)
}

// memoryV2 also sets memory.swap.max to 0 under a memory_max: otherwise
// a leaking plugin swaps the host rather than being OOM-killed at its limit.
func memoryV2(dir string, max, high int64) error {
	err := errors.Join(
		writeFile(dir, "memory.max", v2Value(orNone(max), "max")),
		writeFile(dir, "memory.high", v2Value(orNone(high), "max")),
	)
	if exists(dir, "memory.swap.max") {
		swap := int64(-1)
		if max > 0 {
			swap = 0
		}
		err = errors.Join(err, writeFile(dir, "memory.swap.max", v2Value(swap, "max")))
	}
	return err
}
