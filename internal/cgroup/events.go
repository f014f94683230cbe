package cgroup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// waitEvents waits for "populated 0" in dir's cgroup.events. The kernel
// signals a change of that file to inotify, so this sleeps until the last
// process leaves rather than polling; the watch is set before the first
// read, so a change between the two is not missed.
func waitEvents(ctx context.Context, dir string) error {
	f, err := watch(filepath.Join(dir, "cgroup.events"))
	if err != nil {
		return err
	}
	defer f.Close()
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, 4096)
	for {
		populated, err := populatedV2(dir)
		if err != nil || !populated {
			return err
		}
		if _, err := f.Read(buf); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("cgroup: %s still populated: %w", dir, ctx.Err())
			}
			return fmt.Errorf("cgroup: inotify on %s: %w", dir, err)
		}
	}
}

// watch returns a non-blocking inotify descriptor as an *os.File, so reads
// park in the runtime's poller and a deadline can end them.
func watch(path string) (*os.File, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("cgroup: inotify_init1: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, path, unix.IN_MODIFY); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("cgroup: inotify watch %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), "inotify:"+path), nil
}

// pollEmpty is WaitEmpty without cgroup2: v1 notifies emptiness only
// through the machine-wide release_agent, so this reads cgroup.procs with
// a growing pause.
func pollEmpty(ctx context.Context, populated func() (bool, error)) error {
	for pause := time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		p, err := populated()
		if err != nil || !p {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cgroup: still populated: %w", ctx.Err())
		case <-time.After(pause):
		}
	}
}

var errPollTimeout = errors.New("timed out")

// pollUntil reads cond with a growing pause until it holds or d passes.
func pollUntil(d time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(d)
	for pause := 100 * time.Microsecond; ; pause = min(2*pause, 20*time.Millisecond) {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return errPollTimeout
		}
		time.Sleep(pause)
	}
}
