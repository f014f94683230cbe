// Package natsserver runs a real nats-server inside the process: the one
// place plugvisor starts one, for the fleet demo and for tests
// (internal/natstest wraps it).
package natsserver

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ReadyTimeout bounds how long Run waits for the server to take clients.
const ReadyTimeout = 20 * time.Second

// Run starts a server with opts (logging and signal handling off unless
// opts asks) and returns once it takes connections.
func Run(opts *server.Options) (*server.Server, error) {
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats-server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(ReadyTimeout) {
		srv.Shutdown()
		return nil, errors.New("nats-server: not ready for connections in " + ReadyTimeout.String())
	}
	return srv, nil
}

// Loopback is a server for one machine: loopback on a random port,
// JetStream stored in dir, no logs, no signals, no monitoring port.
func Loopback(dir string) *server.Options {
	return &server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: dir,
		NoLog: true, NoSigs: true}
}

// Stop shuts srv down and waits until it is gone.
func Stop(srv *server.Server) {
	srv.Shutdown()
	srv.WaitForShutdown()
}
