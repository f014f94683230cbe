package control

import (
	"context"
	"net"
	"path/filepath"
	"testing"
)

// TestTrustedServer: the client trusts a server of its own uid or root,
// and no other.
func TestTrustedServer(t *testing.T) {
	for _, tc := range []struct {
		uid, self int
		ok        bool
	}{{1000, 1000, true}, {0, 1000, true}, {0, 0, true}, {65534, 1000, false}, {65534, 0, false}} {
		if err := trustedServer(tc.uid, 1, tc.self); (err == nil) != tc.ok {
			t.Errorf("server uid %d, client uid %d: %v", tc.uid, tc.self, err)
		}
	}
}

// TestCheckServerOwnUID: a server of our own uid passes the check on a
// real connection (SO_PEERCRED read).
func TestCheckServerOwnUID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var d net.Dialer
	nc, err := d.DialContext(context.Background(), "unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := checkServer(nc); err != nil {
		t.Fatalf("own server refused: %v", err)
	}
}
