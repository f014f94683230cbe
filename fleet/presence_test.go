package fleet_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor"
	st "github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// presenceServer runs a server on the generated permissions of hosts a,
// b and c, whose passwords are "p" and the name, and of operator login,
// scoped to scope; host connects one host as the link does, operator
// connects the operator. errs gets a host's asynchronous errors (the
// server's refusals); nil drops them.
func presenceServer(t *testing.T, login string, scope ...string) (host func(name string, errs chan<- error) *nats.Conn, operator func() *nats.Conn) {
	t.Helper()
	var conf strings.Builder
	err := fleet.NATSConfig(&conf, fleet.PermissionsOptions{Prefix: testPrefix,
		Hosts:     []fleet.HostUser{{Name: "a", Password: "pa"}, {Name: "b", Password: "pb"}, {Name: "c", Password: "pc"}},
		Operators: []fleet.OperatorUser{{User: login, Password: "po", Hosts: scope}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, withConfigFile(writeConfig(t, conf.String())))
	host = func(name string, errs chan<- error) *nats.Conn {
		return srv.connect(t, nats.UserInfo(name, "p"+name), nats.CustomInboxPrefix(subjectsOf(name).Inbox()),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
				select {
				case errs <- err:
				default:
				}
			}))
	}
	return host, func() *nats.Conn {
		return srv.connect(t, nats.UserInfo(login, "po"), nats.CustomInboxPrefix(fleet.OperatorInbox(login)))
	}
}

// startPresenceFleet is a fleet over nc of the hosts sel picks, with
// quick rounds that collect answers for wait.
func startPresenceFleet(t *testing.T, ctx context.Context, nc *nats.Conn, sel string, wait time.Duration) *fleet.Fleet {
	t.Helper()
	fl, err := fleet.StartFleet(ctx, fleet.FleetOptions{Conn: nc, Prefix: testPrefix, Selector: mustSelector(t, sel),
		DiscoverEvery: 50 * time.Millisecond, DiscoverWait: wait})
	if err != nil {
		t.Fatalf("fleet %s: %v", sel, err)
	}
	t.Cleanup(fl.Close)
	return fl
}

func hostNames(fl *fleet.Fleet) []string {
	var out []string
	for _, h := range fl.Hosts() {
		out = append(out, h.Name)
	}
	return out
}

func containment(t *testing.T, ctx context.Context, fl *fleet.Fleet) string {
	t.Helper()
	in, err := fl.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(in.Containment, "\n")
}

// A host that answers every `$SRV.PING` with thousands of made-up names
// (it may: the permissions let every host answer an operator's inbox)
// used to spend each round's confirmations on names no one serves, so a
// host that came later might never be found. A host's presence comes on
// a subject only it may publish, and pings take at most a few new names
// a round: the new host joins within a few rounds of starting, and none of
// the forged names does, each refused or disowned.
func TestFleetFindsNewHostThroughForgedFlood(t *testing.T) {
	host, operator := presenceServer(t, "ops")
	eng := st.Start(t, st.Plugin(t, "echo", st.Bin("echo"), ""), st.Options{})
	a := host("a", nil)
	serve(t, a, eng.Sup, subjectsOf("a"), nil)
	forged := make([]string, 3000)
	for i := range forged {
		forged[i] = fmt.Sprintf("ghost-%04d", i)
	}
	sent := forge(t, a, nil, forged...)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fl := startPresenceFleet(t, ctx, operator(), "*", 300*time.Millisecond)
	testutil.WaitUntil(t, "a round under the flood", 30*time.Second, func() bool {
		c := containment(t, ctx, fl)
		return sent.Load() >= int64(len(forged)) && strings.Contains(c, "left out") && strings.Contains(c, "did not confirm")
	})

	// b joins by the round after the one that first asks it, unless the
	// machine delays its answer past a round's wait; the bound allows for
	// that many times over. Crowded out, it would not join in any.
	started := fl.Rounds()
	serve(t, host("b", nil), eng.Sup, subjectsOf("b"), nil)
	testutil.WaitUntil(t, "b in the fleet", 30*time.Second, func() bool {
		names := hostNames(fl)
		if len(names) > 2 || (len(names) == 2 && !slices.Equal(names, []string{"a", "b"})) {
			t.Fatalf("the fleet holds %d hosts %.200v, want a and b", len(names), names)
		}
		return len(names) == 2
	})
	if n := fl.Rounds() - started; n > 10 {
		t.Fatalf("b joined after %d rounds of the flood, want within a few", n)
	}
	for _, h := range fl.Hosts() {
		if !h.Confirmed || h.Unreachable {
			t.Fatalf("host %+v: want confirmed and reachable", h)
		}
	}
	r, err := fl.SendTask(ctx, supervisor.TaskRequest{Plugin: "b/echo", ID: 1, Content: "to b"})
	if err != nil || r.Outcome != supervisor.OutcomeAnswered {
		t.Fatalf("task to b/echo: %+v %v", r, err)
	}
	c := containment(t, ctx, fl)
	if !strings.Contains(c, "left out") || !strings.Contains(c, "did not confirm") {
		t.Fatalf("the forged names are not counted refused and disowned: %q", c)
	}
}

// A host may publish presence only on its own subject, and may not call
// for presence: the server refuses host a's presence in b's name, and
// the operator, listening to every presence, hears a's own next and
// nothing in b's name before it.
func TestHostCannotForgePresence(t *testing.T) {
	host, operator := presenceServer(t, "ops")
	ops := operator()
	errs := make(chan error, 8)
	a := host("a", errs)
	heard, err := ops.SubscribeSync(fleet.AllPresence(testPrefix))
	if err != nil {
		t.Fatal(err)
	}
	if err := ops.Flush(); err != nil {
		t.Fatal(err)
	}
	body := func(h string) []byte {
		b, _ := json.Marshal(fleet.PresenceMessage{Host: h, Prefix: testPrefix})
		return b
	}
	for _, subject := range []string{subjectsOf("b").Presence(), fleet.Discover(testPrefix)} {
		if err := a.Publish(subject, body("b")); err != nil {
			t.Fatal(err)
		}
		if err := a.Flush(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errs:
			if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), subject) {
				t.Fatalf("publish to %s: %v, want a permission violation naming it", subject, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("publish to %s: the server did not refuse it", subject)
		}
	}
	if err := a.Publish(subjectsOf("a").Presence(), body("a")); err != nil {
		t.Fatal(err)
	}
	m, err := heard.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != subjectsOf("a").Presence() {
		t.Fatalf("the operator heard %s %q first, want a's own presence", m.Subject, m.Data)
	}
}

// A host of a plugvisor from before presence answers `$SRV.PING` only:
// it still joins, confirmed on its own API subject, beside a host that
// gives its presence.
func TestFleetFindsHostWithoutPresence(t *testing.T) {
	host, operator := presenceServer(t, "ops")
	eng := st.Start(t, st.Plugin(t, "echo", st.Bin("echo"), ""), st.Options{})
	serve(t, host("a", nil), eng.Sup, subjectsOf("a"), nil)
	oldHost(t, host("c", nil), "c")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fl := startPresenceFleet(t, ctx, operator(), "*", 100*time.Millisecond)
	testutil.WaitUntil(t, "a and c confirmed", 30*time.Second, func() bool {
		hosts := fl.Hosts()
		return len(hosts) == 2 && hosts[0].Name == "a" && hosts[1].Name == "c" &&
			hosts[0].Confirmed && hosts[1].Confirmed && hosts[1].Labels["env"] == "old"
	})
}

// oldHost serves on nc, as name, what a plugvisor from before presence
// does for discovery: a `$SRV.PING` answer, and its info (labels
// env=old), without presence.
func oldHost(t *testing.T, nc *nats.Conn, name string) {
	t.Helper()
	svc, err := micro.AddService(nc, micro.Config{Name: fleet.ServiceName, Version: "0.9.0",
		Metadata: map[string]string{"host": name, "prefix": testPrefix, "label.env": "old"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop() })
	info, _ := json.Marshal(fleet.InfoResult{Info: supervisor.Info{Started: time.Unix(1700000000, 0)}, Labels: map[string]string{"env": "old"}})
	if err := svc.AddGroup(subjectsOf(name).APIGroup()).AddEndpoint(fleet.OpInfo, micro.HandlerFunc(func(r micro.Request) {
		_ = r.Respond(info)
	})); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// An operator scoped to some hosts may hear only their presence: a fleet
// that names them listens there; one over every host is refused that,
// and finds its hosts by `$SRV.PING` alone, as before presence.
func TestScopedOperatorHearsItsHostsPresence(t *testing.T) {
	host, operator := presenceServer(t, "opa", "a")
	eng := st.Start(t, st.Plugin(t, "echo", st.Bin("echo"), ""), st.Options{})
	for _, h := range []string{"a", "b"} {
		nc := host(h, nil) // b may not answer opa's pings, and is told so
		serve(t, nc, eng.Sup, subjectsOf(h), nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range []struct {
		sel   string
		hears bool
	}{{"host=a", true}, {"*", false}} {
		nc := operator()
		fleet.QuietAsyncErrors(nc, nil)
		fl := startPresenceFleet(t, ctx, nc, c.sel, 50*time.Millisecond)
		if fl.HearsPresence() != c.hears {
			t.Fatalf("fleet %s of an operator scoped to a: hears presence %v, want %v", c.sel, fl.HearsPresence(), c.hears)
		}
		testutil.WaitUntil(t, "a confirmed in fleet "+c.sel, 20*time.Second, func() bool {
			hosts := fl.Hosts()
			return len(hosts) == 1 && hosts[0].Name == "a" && hosts[0].Confirmed
		})
	}
}
