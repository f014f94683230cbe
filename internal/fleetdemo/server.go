//go:build !nonatsserver

package fleetdemo

import (
	nats "github.com/nats-io/nats-server/v2/server"

	"github.com/plugvisor/plugvisor/internal/natsserver"
)

// Embedded is whether this build links nats-server, so the demo can run.
const Embedded = true

// server is the demo's NATS server, in this process.
type server interface {
	url() string
	stop()
}

type embedded struct{ s *nats.Server }

func (e embedded) url() string { return e.s.ClientURL() }
func (e embedded) stop()       { natsserver.Stop(e.s) }

// startServer runs nats-server with JetStream stored in dir, on loopback.
func startServer(dir string) (server, error) {
	s, err := natsserver.Run(natsserver.Loopback(dir))
	if err != nil {
		return nil, err
	}
	return embedded{s}, nil
}
