package cgroup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// SweepStale kills and removes what a dead supervisor left: parents named
// prefix<pid> or prefix<pid>-… whose pid is not alive, with every group in
// them. The watchdog removes them when the supervisor dies; this is for the
// machine where both died at once (the host's OOM killer, a power cut of a
// container), so that nothing plugvisor started outlives it even then. It
// returns the parents it removed.
func (m *Manager) SweepStale(ctx context.Context, prefix string, alive func(pid int) bool) ([]string, error) {
	var removed []string
	var errs []error
	for _, base := range m.bases() {
		entries, err := os.ReadDir(base)
		if err != nil {
			errs = append(errs, fileErr("read", base, err))
			continue
		}
		for _, e := range entries {
			if pid, ok := ownerPid(e.Name(), prefix); ok && e.IsDir() && !alive(pid) {
				dir := filepath.Join(base, e.Name())
				if err := removeParent(ctx, dir); err != nil {
					errs = append(errs, err)
					continue
				}
				removed = append(removed, dir)
			}
		}
	}
	return removed, errors.Join(errs...)
}

// bases are the directories m makes its parents in.
func (m *Manager) bases() []string {
	var out []string
	if m.v2 != "" {
		out = append(out, filepath.Dir(m.v2))
	}
	for _, dir := range m.v1 {
		out = append(out, filepath.Dir(dir))
	}
	return out
}

func ownerPid(name, prefix string) (int, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
	return pid, err == nil && pid > 0
}

// removeParent kills and removes every group in dir, then dir.
func removeParent(ctx context.Context, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fileErr("read", dir, err)
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir() {
			errs = append(errs, Reopen([]string{filepath.Join(dir, e.Name())}).Remove(ctx))
		}
	}
	return errors.Join(append(errs, rmdir(dir))...)
}
