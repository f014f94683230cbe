package fleet_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor"
	st "github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// spoofServer runs a server on the generated permissions of hosts a and b
// and operator ops, and connects a and b as hosts do and ops as an
// operator does.
func spoofServer(t *testing.T) (a, b, ops *nats.Conn) {
	t.Helper()
	var conf strings.Builder
	err := fleet.NATSConfig(&conf, fleet.PermissionsOptions{Prefix: testPrefix,
		Hosts:     []fleet.HostUser{{Name: "a", Password: "pa"}, {Name: "b", Password: "pb"}},
		Operators: []fleet.OperatorUser{{User: "ops", Password: "po"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, withConfigFile(writeConfig(t, conf.String())))
	host := func(name, pw string) *nats.Conn {
		return srv.connect(t, nats.UserInfo(name, pw), nats.CustomInboxPrefix(subjectsOf(name).Inbox()))
	}
	return host("a", "pa"), host("b", "pb"), srv.connect(t, nats.UserInfo("ops", "po"), nats.CustomInboxPrefix(fleet.OperatorInbox("ops")))
}

// forge has conn answer every discovery request once in the name of each
// of hosts, claiming labels, and counts the answers it sent.
func forge(t *testing.T, conn *nats.Conn, labels map[string]string, hosts ...string) *atomic.Int64 {
	t.Helper()
	var sent atomic.Int64
	_, err := conn.Subscribe("$SRV.PING."+fleet.ServiceName, func(m *nats.Msg) {
		for _, h := range hosts {
			md := map[string]string{"host": h, "prefix": testPrefix}
			for k, v := range labels {
				md["label."+k] = v
			}
			body, _ := json.Marshal(micro.Ping{ServiceIdentity: micro.ServiceIdentity{Name: fleet.ServiceName, ID: "forged-" + h, Version: "1.0.0", Metadata: md},
				Type: micro.PingResponseType})
			if conn.Publish(m.Reply, body) == nil {
				sent.Add(1)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Flush(); err != nil {
		t.Fatal(err)
	}
	return &sent
}

// A host may answer discovery in another's name, or in the names of hosts
// that do not exist: the permissions let every host answer an operator's
// inbox. The fleet trusts only what a host says on its own API subject,
// which the permissions let no other serve: host a claiming that b is
// env=prod does not put b in an env=prod fleet nor under an env=prod
// selector (a task sent there would reach the real b), and the hosts a
// invents are not kept, so they neither fill the fleet's bound of hosts
// nor show as hosts that are down. Both are counted in the fleet's Info.
// A host of another prefix is not of the fleet either.
func TestFleetTrustsNoForgedDiscoveryAnswer(t *testing.T) {
	a, b, ops := spoofServer(t)
	eng := st.Start(t, st.Plugin(t, "echo", st.Bin("echo"), ""), st.Options{})
	serve(t, a, eng.Sup, subjectsOf("a"), func(o *fleet.ServiceOptions) { o.Labels = map[string]string{"env": "dev"} })
	stopB := serve(t, b, eng.Sup, subjectsOf("b"), func(o *fleet.ServiceOptions) { o.Labels = map[string]string{"env": "dev"} })
	// c is another fleet's, in the same account: every prefix's hosts
	// answer the one discovery subject.
	serve(t, b, eng.Sup, fleet.Subjects{Prefix: "pv.other", Host: "b"}, nil)
	ghosts := []string{"ghost-1", "ghost-2", "ghost-3"}
	sent := forge(t, a, map[string]string{"env": "prod"}, append([]string{"b"}, ghosts...)...)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	open := func(sel string) *fleet.Fleet {
		s, err := fleet.ParseSelector(sel)
		if err != nil {
			t.Fatal(err)
		}
		fl, err := fleet.StartFleet(ctx, fleet.FleetOptions{Conn: ops, Prefix: testPrefix, Selector: s,
			DiscoverEvery: 50 * time.Millisecond, DiscoverWait: 50 * time.Millisecond, MaxHosts: 3})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(fl.Close)
		return fl
	}
	prod, all := open("env=prod"), open("*")
	// Until each fleet has disowned what a forged answer named, it has not
	// been tried.
	for _, fl := range []*fleet.Fleet{prod, all} {
		testutil.WaitUntil(t, "the forged answers disowned", 30*time.Second, func() bool {
			in, err := fl.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return sent.Load() > 0 && strings.Contains(strings.Join(in.Containment, "\n"), "their own API did not confirm")
		})
	}
	if hosts := prod.Hosts(); len(hosts) != 0 {
		t.Fatalf("the env=prod fleet holds %+v: no host is env=prod", hosts)
	}
	if picked := all.Pick(mustSelector(t, "env=prod")); len(picked) != 0 {
		t.Fatalf("env=prod picks %v: no host is env=prod", picked)
	}
	testutil.WaitUntil(t, "a and b in the fleet, no ghost", 30*time.Second, func() bool {
		var names []string
		for _, h := range all.Hosts() {
			names = append(names, h.Name)
			if h.Labels["env"] != "dev" || h.Unreachable {
				return false
			}
		}
		return strings.Join(names, " ") == "a b"
	})
	if picked := all.Pick(mustSelector(t, "env=dev")); strings.Join(picked, " ") != "a b" {
		t.Fatalf("env=dev picks %v, want a and b", picked)
	}
	r, err := all.SendTask(ctx, supervisor.TaskRequest{Plugin: "b/echo", ID: 1, Content: "to b"})
	if err != nil || r.Outcome != supervisor.OutcomeAnswered {
		t.Fatalf("task to b/echo: %+v %v", r, err)
	}

	// b stops: a call finds no one serving it, and a's answers in its
	// name do not make it reachable again, round after round.
	if err := stopB(); err != nil {
		t.Fatal(err)
	}
	if _, err := all.Ping(ctx, "b/echo"); !errors.Is(err, fleet.ErrNoResponders) {
		t.Fatalf("ping of the stopped b: %v", err)
	}
	// b gave its presence, so a's answers as b are not b seen either:
	// from the round after the call (by which any presence b gave before
	// it stopped is in), its last-seen time does not move.
	hostB := func() fleet.HostState {
		for _, h := range all.Hosts() {
			if h.Name == "b" {
				if !h.Unreachable {
					t.Fatalf("b reachable again by a's answer as b: %+v", h)
				}
				return h
			}
		}
		t.Fatal("b left the fleet")
		return fleet.HostState{}
	}
	afterRounds := func(n uint64) {
		r := all.Rounds()
		testutil.WaitUntil(t, "more rounds of a's answers as b", 30*time.Second, func() bool {
			hostB()
			return all.Rounds() >= r+n
		})
	}
	afterRounds(1)
	last := hostB().LastSeen
	afterRounds(2)
	if now := hostB().LastSeen; !now.Equal(last) {
		t.Fatalf("b seen at %v, after it stopped (last at %v), by a's answers as b", now, last)
	}
}

func mustSelector(t *testing.T, s string) fleet.Selector {
	t.Helper()
	sel, err := fleet.ParseSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}
