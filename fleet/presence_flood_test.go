package fleet_test

import (
	"testing"
	"time"

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
