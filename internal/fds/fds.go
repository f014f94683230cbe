// Package fds keeps descriptors a process inherited from reaching what it
// starts.
package fds

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// CloseOnExecInherited marks every descriptor from 3 up close-on-exec. A
// process that starts others (plugvisor starts plugins and a watchdog) may
// have been handed descriptors its own parent did not mean to pass on, such
// as a root-only file a shell opened; Go's exec passes a child only what
// ExtraFiles names, but only for descriptors already marked close-on-exec.
// Call it first thing, before anything opens descriptors of its own that a
// child should get.
func CloseOnExecInherited() error {
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		// Kernels before 5.11 have no CLOSE_RANGE_CLOEXEC: walk the table.
		return walk()
	}
	return nil
}

// walk marks each descriptor listed in /proc/self/fd.
func walk() error {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("close-on-exec of inherited descriptors: %w", err)
	}
	for _, e := range entries {
		fd, aerr := strconv.Atoi(e.Name())
		if aerr != nil || fd < 3 {
			continue
		}
		// The directory's own descriptor is among them; it is closed
		// already or about to be, and EBADF is harmless.
		if _, ferr := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); ferr != nil && ferr != unix.EBADF {
			return fmt.Errorf("close-on-exec of descriptor %d: %w", fd, ferr)
		}
	}
	return nil
}
