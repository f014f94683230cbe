package sdk

import (
	"flag"
	"fmt"
)

// App builds a callback-driven plugin without declaring a type:
//
//	sdk.Main(sdk.New("echo").HandleDefault(func(ctx context.Context, t sdk.Task, s sdk.Sink) error {
//		return s.Reply(t, sdk.Fields{"data_type": "echo", "content": t.Content})
//	}))
//
// An App is a Plugin; configure it before running it.
type App struct {
	info   Info
	router Router
	run    RunFunc
	fs     *flag.FlagSet
	args   []string
	parse  bool
}

// New starts an App named name.
func New(name string) *App { return &App{info: Info{Name: name}} }

// Version sets the version sent in the hello instead of the build's.
func (a *App) Version(v string) *App { a.info.Version = v; return a }

// Handle registers h for tasks with this id.
func (a *App) Handle(id uint32, h HandlerFunc) *App { a.router.Handle(id, h); return a }

// HandleDefault registers h for tasks whose id has no handler of its own.
func (a *App) HandleDefault(h HandlerFunc) *App { a.router.HandleDefault(h); return a }

// OnRun sets the plugin's body. Without one the plugin only answers tasks
// and runs until shutdown.
func (a *App) OnRun(fn RunFunc) *App { a.run = fn; return a }

// Flags makes Run parse args with fs before connecting (nil fs: the plugin
// accepts no arguments). A parse error ends Run with a *UsageError.
func (a *App) Flags(fs *flag.FlagSet, args []string) *App {
	a.fs, a.args, a.parse = fs, args, true
	return a
}

// Info implements Plugin.
func (a *App) Info() Info { return a.info }

// RegisterTasks implements TaskHandlers.
func (a *App) RegisterTasks(r *Router) { r.merge(&a.router) }

// Init implements Initer: it parses the arguments given to Flags.
func (a *App) Init() error {
	if !a.parse {
		return nil
	}
	return ParseArgs(a.fs, a.args)
}

// Run implements Plugin.
func (a *App) Run(sink Sink, s *Session) error {
	if a.run == nil {
		s.Wait()
		return nil
	}
	return a.run(sink, s)
}

// ParseArgs parses a plugin's arguments with fs (nil: none are accepted).
// Errors come back as *UsageError, except flag.ErrHelp, which ExitCode maps
// to success. Positional arguments are refused: plugins are configured by
// flags, so a stray word is a mistake worth reporting.
func ParseArgs(fs *flag.FlagSet, args []string) error {
	if fs != nil {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return err
			}
			return &UsageError{Err: err}
		}
		args = fs.Args()
	}
	if len(args) > 0 {
		return &UsageError{Err: fmt.Errorf("unexpected arguments %q", args)}
	}
	return nil
}
