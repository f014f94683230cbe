package protocol_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/plugvisor/plugvisor/protocol"
)

func TestNegotiate(t *testing.T) {
	for _, c := range []struct {
		supervisor, plugin []uint16
		want               uint16
	}{
		{[]uint16{1}, []uint16{1}, 1},
		{[]uint16{1, 2, 3}, []uint16{2, 3, 4}, 3},
		{[]uint16{3, 1, 2}, []uint16{4, 1, 2}, 2},
		{[]uint16{1, 2}, []uint16{5, 2, 1}, 2},
		{[]uint16{7}, []uint16{0, 7, 9}, 7},
	} {
		got, err := protocol.Negotiate(c.supervisor, c.plugin)
		if err != nil || got != c.want {
			t.Errorf("Negotiate(%v, %v) = %d, %v; want %d", c.supervisor, c.plugin, got, err, c.want)
		}
	}
}

// TestNegotiateNone: with no common version the error lists both sides and
// says which one to upgrade.
func TestNegotiateNone(t *testing.T) {
	for _, c := range []struct {
		supervisor, plugin []uint16
		want               string
	}{
		{[]uint16{1, 2}, []uint16{5, 6},
			"no common protocol version: the plugin speaks v5, v6, the supervisor speaks v1, v2 (upgrade plugvisor)"},
		{[]uint16{2, 3}, []uint16{1},
			"no common protocol version: the plugin speaks v1, the supervisor speaks v2, v3 (upgrade the plugin's SDK)"},
		{[]uint16{1}, nil,
			"no common protocol version: the plugin speaks none, the supervisor speaks v1 (upgrade the plugin's SDK)"},
	} {
		v, err := protocol.Negotiate(c.supervisor, c.plugin)
		ve, ok := errors.AsType[*protocol.VersionError](err)
		if !ok || v != 0 {
			t.Fatalf("Negotiate(%v, %v) = %d, %v; want a *VersionError", c.supervisor, c.plugin, v, err)
		}
		if !slices.Equal(ve.Plugin, c.plugin) || !slices.Equal(ve.Supervisor, c.supervisor) {
			t.Errorf("VersionError holds %v / %v", ve.Plugin, ve.Supervisor)
		}
		if err.Error() != c.want {
			t.Errorf("error %q, want %q", err, c.want)
		}
	}
}

// TestVersions: this package speaks Version, and the list it advertises
// cannot be changed by a caller.
func TestVersions(t *testing.T) {
	vs := protocol.Versions()
	if !slices.Contains(vs, protocol.Version) || slices.Max(vs) != protocol.Version {
		t.Fatalf("Versions() = %v, want the newest to be Version %d", vs, protocol.Version)
	}
	vs[0] = 999
	if slices.Contains(protocol.Versions(), 999) {
		t.Fatal("changing the slice Versions returned changed what it advertises")
	}
	if v, err := protocol.Negotiate(protocol.Versions(), protocol.Versions()); err != nil || v != protocol.Version {
		t.Fatalf("two peers of this package negotiate %d, %v", v, err)
	}
}
