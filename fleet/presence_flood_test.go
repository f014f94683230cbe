package fleet_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/testutil"

	"github.com/nats-io/nats.go"

	"github.com/plugvisor/plugvisor/fleet"
	st "github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// An operator (a scoped one too: every operator may call for presence)
// that spams the call for presence used to have every host answer every
// call, so one operator's loop made every host flood every fleet's
// presence subscription. A host answers at most once per
// PresenceEvery, and a call within that time is answered at its end, so
// no round goes without the host's presence: however many calls, the
// n-th presence comes at least (n-1) PresenceEvery after the first call,
// which holds at each arrival whatever the machine's speed.
func TestHostBoundsItsPresenceAnswers(t *testing.T) {
	host, operator := presenceServer(t, "opa", "a")
	eng := st.Start(t, st.Plugin(t, "echo", st.Bin("echo"), ""), st.Options{})
	serve(t, host("a", nil), eng.Sup, subjectsOf("a"), nil)
	ops := operator()
	heard, err := ops.SubscribeSync(subjectsOf("a").Presence())
	if err != nil {
		t.Fatal(err)
	}
	if err := ops.Flush(); err != nil {
		t.Fatal(err)
	}
	const calls = 2000
	start := time.Now()
	for range calls {
		if err := ops.Publish(fleet.Discover(testPrefix), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := ops.Flush(); err != nil {
		t.Fatal(err)
	}
	// The first call is answered at once, the rest within PresenceEvery
	// of it or later: at least two presences, each within its bound.
	for n := 1; n <= 2; n++ {
		if _, err := heard.NextMsg(20 * time.Second); err != nil {
			t.Fatalf("presence %d of a after %d calls: %v", n, calls, err)
		}
		if bound := 1 + int(time.Since(start)/fleet.PresenceEvery); n > bound {
			t.Fatalf("a gave %d presences within %v of %d calls, want at most %d (one per %v)", n, time.Since(start), calls, bound, fleet.PresenceEvery)
		}
	}
}

// A host may flood its own presence subject with messages that are not a
// presence (another host's name in the body, say, in 16 KiB of JSON).
// Each used to be decoded, so one host's flood kept the fleet's presence
// subscription busy with its messages, and others' were lost to it. A
// fleet decodes one message per host a round, so the flood costs it a
// map look-up a message, and counts what was not a presence (and what
// its subscription lost) in its Info.
func TestFleetDecodesOnePresenceAHostARound(t *testing.T) {
	host, operator := presenceServer(t, "ops")
	eng := st.Start(t, st.Plugin(t, "echo", st.Bin("echo"), ""), st.Options{})
	a := host("a", nil)
	serve(t, a, eng.Sup, subjectsOf("a"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fl := startPresenceFleet(t, ctx, operator(), "*", 50*time.Millisecond)
	testutil.WaitUntil(t, "a confirmed", 20*time.Second, func() bool {
		hosts := fl.Hosts()
		return len(hosts) == 1 && hosts[0].Confirmed
	})
	junk, _ := json.Marshal(fleet.PresenceMessage{Host: "b", Prefix: testPrefix, Labels: map[string]string{"pad": strings.Repeat("x", 15<<10)}})
	const flood = 3000
	before, rounds := fl.PresenceTaken(), fl.Rounds()
	for range flood {
		if err := a.Publish(subjectsOf("a").Presence(), junk); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	testutil.WaitUntil(t, "the flood delivered or dropped", 30*time.Second, func() bool {
		return fl.PresenceTaken()-before >= flood
	})
	bad := fl.PresenceDecodedBad()
	if most := fl.Rounds() - rounds + 2; bad > most {
		t.Fatalf("the fleet decoded %d of a's %d junk presences in %d rounds, want at most one a round", bad, flood, fl.Rounds()-rounds)
	}
	if c := containment(t, ctx, fl); !strings.Contains(c, "not a presence of their host") {
		t.Fatalf("the junk is not counted in the fleet's Info: %q", c)
	}
}

// A fleet's prefix heads every subject it subscribes to: one with a
// wildcard (`--prefix 'pv.*'`) would listen to the presence, events and
// records of every fleet it matches, and hear none of them as its own. It
// is refused, naming it, as the config refuses it.
func TestFleetRefusesPrefixThatIsNoSubject(t *testing.T) {
	_, operator := presenceServer(t, "ops")
	nc := operator()
	for _, prefix := range []string{"pv.*", "pv.>", "pv..test", "pv.te st", ">"} {
		fl, err := fleet.StartFleet(context.Background(), fleet.FleetOptions{Conn: nc, Prefix: prefix,
			DiscoverEvery: 50 * time.Millisecond, DiscoverWait: 10 * time.Millisecond})
		if err == nil {
			fl.Close()
			t.Fatalf("fleet of prefix %q started", prefix)
		}
		if !strings.Contains(err.Error(), `prefix "`+prefix+`"`) {
			t.Fatalf("fleet of prefix %q: %v, want an error naming it", prefix, err)
		}
	}
}

// A host may answer every ping with answers as large as the server lets
// it: a round used to keep up to 64 MiB of them unread, and the first it
// could not keep ended the round, before the answers of other hosts. A
// round keeps a few answers' bytes for each host it may hold, counts the
// rest lost, and goes on: a host of a plugvisor from before presence,
// found by its ping answer only, still joins.
func TestFleetBoundsPingAnswersItKeeps(t *testing.T) {
	host, operator := presenceServer(t, "ops")
	a := host("a", nil)
	big := []byte(`{"name":"plugvisor","pad":"` + strings.Repeat("x", 400<<10) + `"}`)
	if _, err := a.Subscribe("$SRV.PING."+fleet.ServiceName, func(m *nats.Msg) {
		for range 5 {
			_ = a.Publish(m.Reply, big)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	oldHost(t, host("c", nil), "c")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fl, err := fleet.StartFleet(ctx, fleet.FleetOptions{Conn: operator(), Prefix: testPrefix, MaxHosts: 4,
		DiscoverEvery: 50 * time.Millisecond, DiscoverWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fl.Close)
	testutil.WaitUntil(t, "c confirmed, a's answers counted lost", 30*time.Second, func() bool {
		hosts := fl.Hosts()
		return len(hosts) == 1 && hosts[0].Name == "c" && hosts[0].Confirmed &&
			strings.Contains(containment(t, ctx, fl), "discovery answers lost")
	})
}
