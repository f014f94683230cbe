//go:build nonatsserver

package fleetdemo

import "errors"

// Embedded is whether this build links nats-server, so the demo can run.
const Embedded = false

type server interface {
	url() string
	stop()
}

// ErrNoServer is the demo of a build without the embedded server.
var ErrNoServer = errors.New("this plugvisor was built without the embedded NATS server (-tags nonatsserver): " +
	"run the demo from a default build (go run . fleet --demo), or start nats-server -js and use plugvisor fleet --nats URL")

func startServer(string) (server, error) { return nil, ErrNoServer }
