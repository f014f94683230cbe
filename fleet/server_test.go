package fleet_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/plugvisor/plugvisor/internal/natstest"
)

// serverConfig is what startServer's options set.
type serverConfig struct {
	jetStream  bool
	configFile string
	adjust     func(*server.Options)
}

// serverOption tunes startServer.
type serverOption func(*serverConfig)

// withJetStream enables JetStream, stored in the test's temporary directory.
func withJetStream() serverOption { return func(c *serverConfig) { c.jetStream = true } }

// withConfigFile reads the server's configuration (authorization, accounts,
// limits) from path; the listen address and the store are still the test's.
func withConfigFile(path string) serverOption { return func(c *serverConfig) { c.configFile = path } }

// withOptions adjusts the server's options last, before it starts.
func withOptions(f func(*server.Options)) serverOption {
	return func(c *serverConfig) { c.adjust = f }
}

// writeConfig writes a server configuration into the test's temporary
// directory, for withConfigFile.
func writeConfig(t testing.TB, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "server.conf")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// testServer is an embedded NATS server on 127.0.0.1 and a port of its own.
type testServer struct {
	*server.Server
	URL string
}

// startServer runs an embedded NATS server for the test; cleanup shuts it
// down and waits for it.
func startServer(t testing.TB, opts ...serverOption) *testServer {
	t.Helper()
	var c serverConfig
	for _, o := range opts {
		o(&c)
	}
	s := natstest.Start(t, natstest.Options{JetStream: c.jetStream, ConfigFile: c.configFile, Configure: c.adjust})
	return &testServer{Server: s.Server(), URL: s.URL()}
}

// connect is a connection to the server; cleanup closes it.
func (s *testServer) connect(t testing.TB, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.URL, append([]nats.Option{nats.NoReconnect()}, opts...)...)
	if err != nil {
		t.Fatalf("connect to %s: %v", s.URL, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// TestStartServerOptions: the helper's options do what they say, so other
// tests can lean on them.
func TestStartServerOptions(t *testing.T) {
	js := startServer(t, withJetStream())
	jsc, err := js.connect(t).JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jsc.AccountInfo(); err != nil {
		t.Fatalf("JetStream on a server started withJetStream: %v", err)
	}
	plain, err := startServer(t).connect(t).JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.AccountInfo(); !errors.Is(err, nats.ErrJetStreamNotEnabled) {
		t.Fatalf("JetStream on a server started without it: %v", err)
	}

	conf := writeConfig(t, `authorization { users = [ {user: op, password: secret, permissions: {publish: "pv.>", subscribe: "_INBOX.>"}} ] }`)
	auth := startServer(t, withConfigFile(conf))
	if nc, err := nats.Connect(auth.URL, nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatal("connected without credentials to a server with authorization")
	}
	if nc := auth.connect(t, nats.UserInfo("op", "secret")); !nc.IsConnected() {
		t.Fatal("not connected with credentials")
	}
}
