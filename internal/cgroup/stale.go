package cgroup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
)

// SweepStale kills and removes what a dead supervisor left: the parents
// beside m's own whose name stale says is a dead supervisor's, with every
// group in them. The watchdog removes them when the supervisor dies; this
// is for the machine where both died at once (the host's OOM killer, a
// power cut of a container), so that nothing plugvisor started outlives it
// even then. Only the caller can tell a dead owner from a live one in
// another pid namespace or with a reused pid, so the name is all this
// reads. It returns the parents it removed.
func (m *Manager) SweepStale(ctx context.Context, stale func(name string) bool) ([]string, error) {
	var removed []string
	var errs []error
	for _, base := range m.bases() {
		entries, err := os.ReadDir(base)
		if err != nil {
			errs = append(errs, fileErr("read", base, err))
			continue
		}
		for _, e := range entries {
			dir := filepath.Join(base, e.Name())
			if !e.IsDir() || slices.Contains(m.Parents(), dir) || !stale(e.Name()) {
				continue
			}
			if err := removeParent(ctx, dir); err != nil {
				errs = append(errs, err)
				continue
			}
			removed = append(removed, dir)
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
