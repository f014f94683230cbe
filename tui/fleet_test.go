package tui

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/internal/natstest"
	"github.com/plugvisor/plugvisor/supervisor"
)

// fleetRig is real engines each served as a host on a real NATS server,
// and the fleet over them that a console is given: the console's tests
// over many hosts run what `plugvisor fleet` runs.
type fleetRig struct {
	t     testing.TB
	srv   *natstest.Server
	fleet *fleet.Fleet

	mu    sync.Mutex
	stops map[string]func() error // the hosts being served
}

// hostSpec is one host of a fleetRig: its name, labels and engine.
type hostSpec struct {
	name   string
	labels map[string]string
	api    supervisor.API
}

// startFleetRig serves hosts and starts a fleet over them with o (its
// connection made here; discovery every 100 ms, answers read for 50 ms,
// unless o says), and returns once the fleet has every host, each
// confirmed and answering.
func startFleetRig(t testing.TB, o fleet.FleetOptions, hosts ...hostSpec) *fleetRig {
	t.Helper()
	r := &fleetRig{t: t, srv: natstest.Start(t, natstest.Options{}), stops: map[string]func() error{}}
	for _, h := range hosts {
		r.serve(h)
	}
	o.Conn = r.connect()
	o.DiscoverEvery = cmp.Or(o.DiscoverEvery, 100*time.Millisecond)
	o.DiscoverWait = cmp.Or(o.DiscoverWait, 50*time.Millisecond)
	fl, err := fleet.StartFleet(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fl.Close)
	r.fleet = fl
	for _, h := range hosts {
		r.waitHost(h.name, false)
	}
	return r
}

func (r *fleetRig) connect() *nats.Conn {
	r.t.Helper()
	nc, err := nats.Connect(r.srv.URL())
	if err != nil {
		r.t.Fatalf("connect to %s: %v", r.srv.URL(), err)
	}
	r.t.Cleanup(nc.Close)
	return nc
}

// serve answers h's API on NATS as host h.name, on a connection of its
// own, until unserve or the test's end.
func (r *fleetRig) serve(h hostSpec) {
	r.t.Helper()
	stop, err := fleet.Serve(fleet.ServiceOptions{Conn: r.connect(), API: h.api,
		Subjects: fleet.Subjects{Prefix: "plugvisor", Host: h.name}, Version: "v1.0.0", Labels: h.labels})
	if err != nil {
		r.t.Fatal(err)
	}
	r.mu.Lock()
	r.stops[h.name] = stop
	r.mu.Unlock()
	r.t.Cleanup(func() { r.unserve(h.name) })
}

// unserve stops serving host, if it is served.
func (r *fleetRig) unserve(host string) {
	r.mu.Lock()
	stop, ok := r.stops[host]
	delete(r.stops, host)
	r.mu.Unlock()
	if ok {
		if err := stop(); err != nil {
			r.t.Errorf("stop serving %s: %v", host, err)
		}
	}
}

// waitHost waits until the fleet holds host confirmed, with its labels,
// and, as asked, unreachable or answering. Each look asks the fleet for
// its Info and Snapshot first, as a console does every refresh: a host
// the selector names is confirmed by those calls, not by discovery.
func (r *fleetRig) waitHost(host string, unreachable bool) {
	r.t.Helper()
	want := map[bool]string{true: "unreachable", false: "answering"}[unreachable]
	waitUntil(r.t, "the fleet holds "+host+" "+want, func() bool {
		if _, err := r.fleet.Info(context.Background()); err != nil {
			r.t.Fatalf("fleet info: %v", err)
		}
		if _, err := r.fleet.Snapshot(context.Background()); err != nil {
			r.t.Fatalf("fleet snapshot: %v", err)
		}
		hosts := r.fleet.Hosts()
		i := slices.IndexFunc(hosts, func(h fleet.HostState) bool { return h.Name == host })
		return i >= 0 && hosts[i].Confirmed && hosts[i].Labels != nil && hosts[i].Unreachable == unreachable
	})
}
