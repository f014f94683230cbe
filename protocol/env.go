package protocol

// The environment the supervisor gives every plugin process. A plugin started
// without PLUGVISOR_SOCKET was started by a person, not by plugvisor.
const (
	EnvSocket   = "PLUGVISOR_SOCKET"   // path of the Unix socket to connect to
	EnvPlugin   = "PLUGVISOR_PLUGIN"   // the plugin's registry name, sent back in hello.name
	EnvInstance = "PLUGVISOR_INSTANCE" // the instance id, sent back in hello.instance
)
