package cgroup

import (
	"errors"
	"strconv"

	"golang.org/x/sys/unix"
)

// memoryV1 sets memory.limit_in_bytes and, where swap is accounted,
// memory.memsw.limit_in_bytes to the same value, so memory_max caps RAM
// and swap together as it does on cgroup2. high maps to the soft limit,
// which v1 only uses to pick whom to reclaim from first.
func memoryV1(dir string, max, high int64) error {
	return errors.Join(
		setMemoryMaxV1(dir, orNone(max)),
		writeFile(dir, "memory.soft_limit_in_bytes", strconv.FormatInt(orNone(high), 10)),
	)
}

// setMemoryMaxV1 orders the two writes as the kernel demands: memsw may
// never be below limit, so raising writes memsw first and lowering
// writes limit first. Which it is shows by the limit write's EINVAL.
func setMemoryMaxV1(dir string, n int64) error {
	v := strconv.FormatInt(n, 10)
	if !exists(dir, "memory.memsw.limit_in_bytes") {
		return writeFile(dir, "memory.limit_in_bytes", v)
	}
	err := writeFile(dir, "memory.limit_in_bytes", v)
	if errors.Is(err, unix.EINVAL) {
		if err := writeFile(dir, "memory.memsw.limit_in_bytes", v); err != nil {
			return err
		}
		return writeFile(dir, "memory.limit_in_bytes", v)
	}
	if err != nil {
		return err
	}
	return writeFile(dir, "memory.memsw.limit_in_bytes", v)
}

// cpuV1 writes the period before the quota: the kernel checks a quota
// against the period in force.
func cpuV1(dir string, quota int64) error {
	if err := writeFile(dir, "cpu.cfs_period_us", strconv.Itoa(cpuPeriod)); err != nil {
		return err
	}
	return writeFile(dir, "cpu.cfs_quota_us", strconv.FormatInt(quota, 10))
}
