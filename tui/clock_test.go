package tui

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
)

// slowSnapshots is the real supervisor whose snapshots, once hold is set,
// wait until the test releases them, as a remote one's do on a slow
// link.
type slowSnapshots struct {
	supervisor.API
	hold    atomic.Bool
	held    chan struct{} // a snapshot is waiting
	release chan struct{}
	once    sync.Once
}

func (s *slowSnapshots) Snapshot(ctx context.Context) ([]supervisor.PluginStatus, error) {
	if s.hold.Load() {
		s.once.Do(func() { close(s.held) })
		<-s.release // past ctx's deadline too: the clock must not wait for it
	}
	return s.API.Snapshot(ctx)
}

// TestClockMovesWhileSnapshotSlow: while a snapshot is outstanding, the
// clock the panes draw with still moves, once a second, so uptimes do not
// freeze for the length of a slow call.
func TestClockMovesWhileSnapshotSlow(t *testing.T) {
	r := startRig(t, true)
	r.waitState("echo", supervisor.StateRunning)
	api := &slowSnapshots{API: r.sup, held: make(chan struct{}), release: make(chan struct{})}
	t.Cleanup(func() { close(api.release) })
	var ahead atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	c := newConsole(t, api, Options{now: now}, 120, 40)
	c.waitScreen("echo running", func(s string) bool { return strings.Contains(rowOf(s, "echo"), "● running") })
	api.hold.Store(true)
	select {
	case <-api.held:
	case <-time.After(30 * time.Second):
		t.Fatal("no snapshot was taken")
	}
	ahead.Store(int64(3 * time.Hour))
	c.waitScreen("echo up 3h", func(s string) bool { return strings.Contains(rowOf(s, "echo"), "3h") })
}
