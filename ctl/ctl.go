// Package ctl is `plugvisor ctl`: a command-line client of a running plugvisor's control socket.
package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/plugvisor/plugvisor/control"
	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/supervisor"
)

// Exit codes, documented in the README.
const (
	ExitOK          = 0 // done
	ExitFailed      = 1 // the operation failed: an error from the supervisor, an error reply, a failed expectation
	ExitUsage       = 2 // bad command line, configuration or script
	ExitUnreachable = 3 // cannot connect to the control socket, or the connection was lost
	ExitTimeout     = 4 // a task or ping timed out
)

const usage = `usage: plugvisor ctl [--socket PATH | --config FILE | --nats URL --host NAME] COMMAND [ARGS]

commands:
  status [--json]                    every plugin instance, as a table or a JSON array
  info [--json]                      the supervisor: who it is, its sockets and config,
                                     how it contains plugins on this host, its watchdog
  start NAME | stop NAME | restart NAME
                                     act on a plugin (all its instances) or one instance
  reload                             re-read the configuration and apply it
  send NAME ID CONTENT [--timeout D] [--json]
                                     send a task and print its reply records
  ping NAME [--timeout D] [--json]   measure one round trip
  logs NAME [-n N] [-f] [--json]     the last N captured output lines; -f follows
  events [NAME] [-n N] [-f] [--json] the next N events (default 10); -f follows
  history [NAME] [-n N] [--json]     the last N state changes, task outcomes and
                                     supervisor log lines the supervisor kept (default 20)
  run FILE                           run a script (see the README) against this instance

Control characters in what plugins wrote are shown as escapes (\x1b);
--json shows the text as it is, in JSON's escapes.

The socket is --socket, else the control_socket of the config that
plugvisor would load (--config, $PLUGVISOR_CONFIG, the default path), else
the running demo's. With --nats, ctl calls host NAME's API over NATS
instead (--creds FILE, --nkey FILE, or --user NAME --password-file FILE to
log in, --tls-ca FILE, --prefix P when the fleet's subjects are not under
"plugvisor"). Replies arrive on the operator's own inbox, _INBOX_OP.<user>
(the --user, the URL's user or the NKey's public key), as the generated
permissions allow.

exit codes: 0 ok, 1 operation failed, 2 usage, 3 cannot connect, 4 timeout
`

// Main runs `plugvisor ctl` with args (those after "ctl") and returns the
// exit code. Output for programs goes to stdout, errors to stderr; ctx
// ending (an interrupt) ends a follow.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		fmt.Fprint(stderr, usage)
		return ExitUsage
	case args[0] == "help" || args[0] == "-h" || args[0] == "--help":
		fmt.Fprint(stdout, usage)
		return ExitOK
	}
	cmd, err := parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "plugvisor ctl: %v\n\n%s", err, usage)
		return ExitUsage
	}
	r := &run{ctx: ctx, cmd: cmd, out: stdout, errOut: terminalSafe{stderr}}
	if !cmd.json {
		r.out = terminalSafe{stdout}
	}
	return r.exec()
}

// run is one invocation: its command and where output goes.
type run struct {
	ctx    context.Context
	cmd    *command
	out    io.Writer
	errOut io.Writer
}

func (r *run) exec() int {
	if r.cmd.verb == "run" {
		if code := r.checkScript(); code != ExitOK {
			return code
		}
	}
	c, code, err := r.dial()
	if err != nil {
		return r.fail(code, err)
	}
	defer c.Close()
	if err := r.dispatch(c); err != nil {
		return r.fail(exitCode(err), err)
	}
	return ExitOK
}

func (r *run) fail(code int, err error) int {
	fmt.Fprintf(r.errOut, "plugvisor ctl %s: %v\n", r.cmd.verb, err)
	return code
}

// exitCode classifies an error for the shell.
func exitCode(err error) int {
	switch {
	case errors.Is(err, errScriptFailed):
		return ExitFailed
	case errors.Is(err, control.ErrConnClosed), errors.Is(err, control.ErrPermission),
		errors.Is(err, fleet.ErrConnClosed), errors.Is(err, fleet.ErrNoResponders):
		return ExitUnreachable
	case errors.Is(err, supervisor.ErrTaskTimeout), errors.Is(err, context.DeadlineExceeded):
		return ExitTimeout
	case errors.Is(err, errUsage):
		return ExitUsage
	}
	return ExitFailed
}

// Sentinels that set the exit code.
var (
	errUsage        = errors.New("usage")         // in what the operator asked for
	errScriptFailed = errors.New("script failed") // whatever the cause: exit 1
)

// SocketPath finds the control socket: the flag, else the config's, else
// the demo's.
func SocketPath(socket, config string) (string, error) {
	if socket != "" {
		return socket, nil
	}
	path, err := registry.Resolve(config, os.Getenv)
	if errors.Is(err, registry.ErrNoConfig) {
		// Without a config plugvisor runs the demo, whose socket is at a
		// fixed place, or beside it for a second demo running at once.
		return demoSocket(os.Getenv)
	}
	if err != nil {
		return "", err
	}
	cfg, err := registry.Load(path)
	if err != nil {
		return "", err
	}
	return cfg.Agent.ControlSocket, nil
}

// flagSet is a FlagSet that reports to nowhere: Main prints its own usage.
func flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}
