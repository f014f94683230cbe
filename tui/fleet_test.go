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
	"github.com/plugvisor/plugvisor/internal/spool"
	"github.com/plugvisor/plugvisor/supervisor"
)

// fleetRig is real engines each served as a host on a real NATS server
// (its operator API by fleet.Serve, its events and records by a
// fleet.Link, as `plugvisor run` with [fleet] does), and the fleet over
// them that a console is given: what `plugvisor fleet` runs.
type fleetRig struct {
	t     testing.TB
	srv   *natstest.Server
	fleet *fleet.Fleet

	mu    sync.Mutex
	stops map[string]func() // the hosts being served
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
	r := &fleetRig{t: t, srv: natstest.Start(t, natstest.Options{JetStream: true}), stops: map[string]func(){}}
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

func (r *fleetRig) connect(opts ...nats.Option) *nats.Conn {
	r.t.Helper()
	nc, err := nats.Connect(r.srv.URL(), opts...)
	if err != nil {
		r.t.Fatalf("connect to %s: %v", r.srv.URL(), err)
	}
	r.t.Cleanup(nc.Close)
	return nc
}

// serve links h's engine to NATS as host h.name, on a connection of its
// own, and answers its API there, until unserve or the test's end.
func (r *fleetRig) serve(h hostSpec) {
	r.t.Helper()
	subj := fleet.Subjects{Prefix: "plugvisor", Host: h.name}
	nc := r.connect(nats.CustomInboxPrefix(subj.Inbox()))
	sp, err := spool.Open(spool.Options{MemoryBytes: 1 << 20})
	if err != nil {
		r.t.Fatal(err)
	}
	link, err := fleet.StartLink(context.Background(), fleet.LinkOptions{Conn: nc, API: h.api, Subjects: subj, Spool: sp,
		Stream: fleet.StreamConfig{Name: "PLUGVISOR_RECORDS", Subjects: fleet.StreamSubjects(subj.Prefix), Create: true}})
	if err != nil {
		sp.Close()
		r.t.Fatal(err)
	}
	stop, err := fleet.Serve(fleet.ServiceOptions{Conn: nc, API: h.api, Subjects: subj, Version: "v1.0.0", Labels: h.labels})
	if err != nil {
		link.Close()
		sp.Close()
		r.t.Fatal(err)
	}
	r.mu.Lock()
	r.stops[h.name] = func() {
		if err := stop(); err != nil {
			r.t.Errorf("stop serving %s: %v", h.name, err)
		}
		link.Close()
		sp.Close()
	}
	r.mu.Unlock()
	r.t.Cleanup(func() { r.unserve(h.name) })
}

// unserve stops host's link and API, as a host that goes away does, if it
// is served.
func (r *fleetRig) unserve(host string) {
	r.mu.Lock()
	stop, ok := r.stops[host]
	delete(r.stops, host)
	r.mu.Unlock()
	if ok {
		stop()
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
