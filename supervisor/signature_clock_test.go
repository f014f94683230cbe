package supervisor_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/signing"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// A key's validity window is checked at every start against the engine's
// clock: a key that expires while plugvisor runs leaves the process it
// authorised running (expiry is rotation, not revocation) and refuses the
// next start, with both the window and the time in the reason; a key not
// valid yet starts authorising once its time comes, without a reload.
func TestKeyExpiresWhilePlugvisorRuns(t *testing.T) {
	bins := supervisortest.ShortDir(t)
	old, next := newReleaseKey(t, bins, "old"), newReleaseKey(t, bins, "next")
	notAfter := time.Date(2031, 6, 30, 0, 0, 0, 0, time.UTC)
	var now atomic.Pointer[time.Time]
	set := func(t time.Time) { now.Store(&t) }
	set(notAfter.Add(-time.Hour))
	echo, early := distinctEcho(t, bins, "echo"), distinctEcho(t, bins, "early")
	old.sign(t, echo, echo+".minisig", "echo", "1.0.0")
	// Signed in the new key's window: the comment's time must be in it too.
	if _, err := signing.Sign(next.sec, early, early+".minisig", "early", "1.0.0", notAfter.Add(30*time.Minute), nil, nil); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`[trust]
require_signature = true
[trust.keys.old]
public_key = %q
not_after = %s
plugins = ["*"]
[trust.keys.next]
public_key = %q
not_before = %s
plugins = ["*"]
[plugins.echo]
exec = %q
restart = "never"
[plugins.early]
exec = %q
restart = "never"
`, old.pub.String(), notAfter.Format(time.RFC3339), next.pub.String(), notAfter.Format(time.RFC3339), echo, early)
	h := startHarness(t, conf, func(o *supervisor.Options) { o.Clock = func() time.Time { return *now.Load() } })
	before := h.WaitState("echo", supervisor.StateRunning)
	st := h.WaitState("early", supervisor.StateFailed)
	if want := "key outside its validity window: key " + next.id() + " (trust.keys.next) is valid from 2031-06-30T00:00:00Z until no end; it is now 2031-06-29T23:00:00Z"; !strings.Contains(st.Reason, want) {
		t.Errorf("early: reason %q\nwant it to contain %q", st.Reason, want)
	}

	set(notAfter.Add(time.Hour))
	if st := h.Status("echo"); st.State != supervisor.StateRunning || st.PID != before.PID {
		t.Fatalf("expiry stopped the running process: %+v", st)
	}
	err := h.Sup.Restart(context.Background(), "echo")
	st = h.WaitState("echo", supervisor.StateFailed)
	want := "key outside its validity window: key " + old.id() + " (trust.keys.old) is valid from any time until 2031-06-30T00:00:00Z; it is now 2031-06-30T01:00:00Z"
	if err == nil || !strings.Contains(st.Reason, want) {
		t.Errorf("restart after expiry: %v; reason %q\nwant it to contain %q", err, st.Reason, want)
	}
	if err := h.Sup.Start(context.Background(), "early"); err != nil {
		t.Errorf("early, once its key is valid: %v", err)
	}
	if st := h.Status("early"); st.State != supervisor.StateRunning || st.SignerKeyName != "next" {
		t.Errorf("early: %+v", st)
	}
}
