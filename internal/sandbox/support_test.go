package sandbox_test

import (
	"testing"

	"github.com/plugvisor/plugvisor/internal/sandbox"
)

func TestProbeIsConsistent(t *testing.T) {
	s := sandbox.Probe()
	t.Logf("%s", s)
	if s.Filesystem != (s.ABI >= 1) || s.TCP != (s.ABI >= 4) || s.Scope != (s.ABI >= 6) {
		t.Errorf("Probe() = %+v: features disagree with the ABI", s)
	}
	if (s.ABI == 0) != (s.Why != "") {
		t.Errorf("Probe() = %+v: Why must be set exactly when Landlock is unavailable", s)
	}
}

func TestSupportString(t *testing.T) {
	for _, c := range []struct {
		s    sandbox.Support
		want string
	}{
		{sandbox.Support{ABI: 7, Filesystem: true, TCP: true, Scope: true},
			"landlock ABI 7: filesystem, TCP bind/connect, signal and abstract-socket scoping"},
		{sandbox.Support{ABI: 4, Filesystem: true, TCP: true},
			"landlock ABI 4: filesystem, TCP bind/connect; no signal or abstract-socket scoping (ABI 6)"},
		{sandbox.Support{ABI: 1, Filesystem: true},
			"landlock ABI 1: filesystem; no TCP rules (ABI 4), no signal or abstract-socket scoping (ABI 6)"},
		{sandbox.Support{Why: "kernel built without Landlock (landlock_create_ruleset: ENOSYS)"},
			"landlock unavailable: kernel built without Landlock (landlock_create_ruleset: ENOSYS)"},
	} {
		if got := c.s.String(); got != c.want {
			t.Errorf("%+v.String() =\n%q, want\n%q", c.s, got, c.want)
		}
	}
}
