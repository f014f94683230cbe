package fleet_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/supervisor"
)

// An operator scoped to some hosts (nats-config's @a) may read only their
// events and records. A fleet that names its hosts listens on theirs
// alone, and so hears host a; one over every host is refused by the
// server, and Subscribe says so and how to pick the hosts, rather than
// hand the console a stream that stays silent.
func TestScopedOperatorSubscribesToItsHosts(t *testing.T) {
	var conf strings.Builder
	err := fleet.NATSConfig(&conf, fleet.PermissionsOptions{Prefix: testPrefix,
		Hosts:     []fleet.HostUser{{Name: "a", Password: "pa"}, {Name: "b", Password: "pb"}},
		Operators: []fleet.OperatorUser{{User: "opa", Password: "po", Hosts: []string{"a"}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, withConfigFile(writeConfig(t, conf.String())))
	host := srv.connect(t, nats.UserInfo("a", "pa"), nats.CustomInboxPrefix(subjectsOf("a").Inbox()))
	operator := func() *nats.Conn {
		return srv.connect(t, nats.UserInfo("opa", "po"), nats.CustomInboxPrefix(fleet.OperatorInbox("opa")))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := func(sel string) *fleet.Fleet {
		s, err := fleet.ParseSelector(sel)
		if err != nil {
			t.Fatal(err)
		}
		fl, err := fleet.StartFleet(ctx, fleet.FleetOptions{Conn: operator(), Prefix: testPrefix, Selector: s,
			DiscoverEvery: 100 * time.Millisecond, DiscoverWait: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(fl.Close)
		return fl
	}

	events, stop, err := start("host=a").Subscribe(ctx, 16)
	if err != nil {
		t.Fatalf("a fleet of host a, scoped to a: %v", err)
	}
	defer stop()
	pub := &publisher{t: t, nc: host, subj: subjectsOf("a")}
	pub.event(supervisor.Event{Type: supervisor.EventState, Time: time.Unix(1700000000, 0), Plugin: "echo", Instance: "echo.0", State: supervisor.StateRunning})
	pub.flush()
	if ev := next(t, events); ev.Host != "a" || ev.Instance != "a/echo.0" {
		t.Fatalf("heard %+v", ev)
	}

	_, _, err = start("*").Subscribe(ctx, 16)
	if err == nil || !strings.Contains(err.Error(), "permissions violation") || !strings.Contains(err.Error(), "--select host=") {
		t.Fatalf("a fleet of every host, scoped to a: %v, want the refusal and how to pick hosts", err)
	}
}
