package fleet_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/supervisor"
	st "github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// The fleet's clock decides a host's last-seen time and when its silence
// makes it unreachable: a host seen at t0 is unreachable once the clock is
// past t0 plus UnreachableAfter, and keeps t0 as when it was last seen.
func TestFleetClock(t *testing.T) {
	eng := st.Start(t, st.Plugin(t, "echo", st.Bin("echo"), ""), st.Options{})
	srv := startServer(t)
	serve(t, srv.connect(t), eng.Sup, subjectsOf("h1"), nil)
	eng.WaitState("echo", supervisor.StateRunning)

	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	// One discovery round, at StartFleet: no later one sees the host
	// again while the clock moves.
	fl, err := fleet.StartFleet(context.Background(), fleet.FleetOptions{Conn: srv.connect(t), Prefix: testPrefix,
		DiscoverEvery: time.Hour, DiscoverWait: 50 * time.Millisecond, UnreachableAfter: time.Minute, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fl.Close)
	rows := st.SnapshotOf(t, fl)
	if len(rows) != 1 || !rows[0].HostLastSeen.Equal(t0) || rows[0].HostUnreachable {
		t.Fatalf("snapshot at t0: %+v", rows)
	}
	mu.Lock()
	now = t0.Add(time.Minute + time.Second)
	mu.Unlock()
	hosts := fl.Hosts()
	if len(hosts) != 1 || !hosts[0].Unreachable || !hosts[0].LastSeen.Equal(t0) {
		t.Fatalf("hosts a minute and a second after t0: %+v", hosts)
	}
}
