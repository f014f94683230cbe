package sdk

import (
	"os"

	"github.com/plugvisor/plugvisor/protocol"
)

// Env is what the supervisor tells a plugin process through its environment.
// An empty Socket means a person started the plugin: it runs standalone.
type Env struct {
	Socket   string // PLUGVISOR_SOCKET: the Unix socket to connect to
	Plugin   string // PLUGVISOR_PLUGIN: the registry name, sent back in the hello
	Instance string // PLUGVISOR_INSTANCE: the instance id, sent back in the hello
}

// EnvFromOS reads Env from the process environment.
func EnvFromOS() Env {
	return Env{
		Socket:   os.Getenv(protocol.EnvSocket),
		Plugin:   os.Getenv(protocol.EnvPlugin),
		Instance: os.Getenv(protocol.EnvInstance),
	}
}

// Standalone reports whether the plugin runs without a supervisor.
func (e Env) Standalone() bool { return e.Socket == "" }
