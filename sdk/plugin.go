// Package sdk is what a plugvisor plugin imports: the runner, the record sink, the session, task routing and standalone mode.
package sdk

// Plugin is a plugin with state. Run is the plugin's life: it returns when the
// plugin is finished or soon after s.Done() is closed. A Plugin that also
// answers tasks implements TaskHandlers.
type Plugin interface {
	Info() Info
	Run(sink Sink, s *Session) error
}

// Info is a plugin's metadata. Name is used when PLUGVISOR_PLUGIN is unset
// (standalone); Version defaults to what the Go toolchain recorded in the
// binary (module version or VCS revision).
type Info struct {
	Name    string
	Version string
}

// TaskHandlers is implemented by a Plugin that answers tasks: it registers
// its handlers once, before the session starts.
type TaskHandlers interface {
	RegisterTasks(r *Router)
}

// Initer is implemented by a Plugin that must prepare before it connects
// (parse arguments, open files). An error from Init ends Run before the
// supervisor is contacted.
type Initer interface {
	Init() error
}

// Fields are a record's string fields; every record needs a non-empty
// "data_type".
type Fields = map[string]string

// RunFunc is the body of a plugin built with New.
type RunFunc func(sink Sink, s *Session) error
