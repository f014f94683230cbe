package fleet_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/registry"
)

func probeFleet(url, user, pass, host string) *registry.Fleet {
	return &registry.Fleet{Servers: []string{url}, User: user, Password: pass, Host: host,
		Prefix: "plugvisor", Stream: "PLUGVISOR_RECORDS", CreateStream: true, ConnectTimeout: 2 * time.Second}
}

// check's probe says what it found for a host allowed its subjects, and
// names the refusal for one that logs in as another.
func TestProbeSaysWhatTheServerAllows(t *testing.T) {
	var users bytes.Buffer
	err := fleet.NATSConfig(&users, fleet.PermissionsOptions{
		Hosts: []fleet.HostUser{{Name: "edge-a", Password: "pa"}, {Name: "edge-b", Password: "pb"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, withConfigFile(writeConfig(t, "jetstream {}\n"+users.String())))
	var out bytes.Buffer
	if err := fleet.Probe(context.Background(), probeFleet(srv.URL, "edge-a", "pa", "edge-a"), &out); err != nil {
		t.Fatalf("probe of an honest host: %v\n%s", err, out.String())
	}
	for _, want := range []string{"connected to", "JetStream: on; stream PLUGVISOR_RECORDS missing", "permissions: may serve plugvisor.api.edge-a.>"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("probe output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	err = fleet.Probe(context.Background(), probeFleet(srv.URL, "edge-a", "pa", "edge-b"), &out)
	if err == nil || !strings.Contains(out.String(), "permissions: refused") || !strings.Contains(err.Error(), "edge-b") {
		t.Fatalf("probe of edge-a logged in as edge-b: %v\n%s", err, out.String())
	}
}
