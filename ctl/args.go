package ctl

import (
	"flag"
	"fmt"
	"time"
)

// command is a parsed command line.
type command struct {
	verbOptions
	args           []string
	socket, config string
	fleet          FleetFlags
}

// verbOptions are the verb and the flags it may take (verbSpec.flags),
// one copy for ctl and fleet ctl.
type verbOptions struct {
	verb              string
	json, follow, yes bool
	n                 int
	timeout           time.Duration
}

// register adds to fs the flags which names (j f n t y); -n and --timeout
// default to defN and defTimeout.
func (o *verbOptions) register(fs *flag.FlagSet, verb, which string, defN int, defTimeout time.Duration) {
	o.verb = verb
	for _, f := range which {
		switch f {
		case 'j':
			fs.BoolVar(&o.json, "json", false, "JSON output")
		case 'f':
			fs.BoolVar(&o.follow, "f", false, "follow")
		case 'n':
			fs.IntVar(&o.n, "n", defN, "how many")
		case 't':
			fs.DurationVar(&o.timeout, "timeout", defTimeout, "timeout")
		case 'y':
			fs.BoolVar(&o.yes, "yes", false, "no confirmation")
		}
	}
}

// verbSpec says what a verb takes.
type verbSpec struct {
	minArgs, maxArgs int
	flags            string // which of: j (--json) f (-f) n (-n) t (--timeout)
}

func spec(verb string) (verbSpec, bool) {
	switch verb {
	case "status", "info":
		return verbSpec{0, 0, "j"}, true
	case "start", "stop", "restart":
		return verbSpec{1, 1, ""}, true
	case "reload":
		return verbSpec{0, 0, ""}, true
	case "send":
		return verbSpec{3, 3, "jt"}, true
	case "ping":
		return verbSpec{1, 1, "jt"}, true
	case "logs":
		return verbSpec{1, 1, "jfn"}, true
	case "events":
		return verbSpec{0, 1, "jfn"}, true
	case "history":
		return verbSpec{0, 1, "jn"}, true
	case "run":
		return verbSpec{1, 1, ""}, true
	}
	return verbSpec{}, false
}

// Defaults of -n.
const (
	defaultLogLines = 20
	defaultEvents   = 10
)

// parse reads global flags, the verb, then its arguments and flags in any
// order ("--" ends the flags, for content that starts with a dash).
func parse(args []string) (*command, error) {
	cmd := &command{}
	_, pos, err := parseLine("ctl", args, cmd.globalFlags, spec, cmd.verbFlags)
	if err != nil {
		return nil, err
	}
	cmd.args = pos
	if cmd.n < 0 || cmd.timeout < 0 {
		return nil, fmt.Errorf("%s: -n and --timeout must not be negative", cmd.verb)
	}
	return cmd, nil
}

// parseLine is the one reading of a command line of ctl and fleet ctl:
// global flags, the verb (which lookup knows), then its arguments and
// flags in any order, the global flags again among them; "--" ends the
// flags, for content that starts with a dash. verbFlags is told the verb
// as it registers the verb's flags: some defaults depend on it.
func parseLine(name string, args []string, globals func(*flag.FlagSet), lookup func(string) (verbSpec, bool),
	verbFlags func(fs *flag.FlagSet, verb, flags string)) (verb string, pos []string, err error) {
	global := flagSet(name)
	globals(global)
	if err := global.Parse(args); err != nil {
		return "", nil, err
	}
	if global.NArg() == 0 {
		return "", nil, fmt.Errorf("no command")
	}
	verb = global.Arg(0)
	sp, ok := lookup(verb)
	if !ok {
		return "", nil, fmt.Errorf("unknown command %q", verb)
	}
	fs := flagSet(verb)
	globals(fs)
	verbFlags(fs, verb, sp.flags)
	if pos, err = interspersed(fs, global.Args()[1:]); err != nil {
		return "", nil, fmt.Errorf("%s: %w", verb, err)
	}
	if len(pos) < sp.minArgs || len(pos) > sp.maxArgs {
		return "", nil, fmt.Errorf("%s: want %s, got %d arguments", verb, argsWanted(sp), len(pos))
	}
	return verb, pos, nil
}

func (c *command) globalFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.socket, "socket", c.socket, "control socket")
	fs.StringVar(&c.config, "config", c.config, "config file")
	c.fleet.Register(fs)
}

func (c *command) verbFlags(fs *flag.FlagSet, verb, which string) {
	n := defaultEvents
	if verb == "logs" || verb == "history" {
		n = defaultLogLines
	}
	c.register(fs, verb, which, n, 0)
}

func argsWanted(sp verbSpec) string {
	switch {
	case sp.minArgs == sp.maxArgs:
		return fmt.Sprintf("%d arguments", sp.minArgs)
	default:
		return fmt.Sprintf("%d to %d arguments", sp.minArgs, sp.maxArgs)
	}
}

// interspersed parses flags wherever they appear among the positional
// arguments, which the flag package alone stops at.
func interspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
