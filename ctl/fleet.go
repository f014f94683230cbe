package ctl

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plugvisor/plugvisor/control"
	"github.com/plugvisor/plugvisor/fleet"
)

// ExitPartial is a fleet command that some of its hosts did and some did
// not: answered here, no responders or an error there.
const ExitPartial = 5

const fleetUsage = `usage: plugvisor fleet ctl --nats URL [--creds FILE | --nkey FILE | --user U --password-file FILE]
                          [--tls-ca FILE] [--prefix P] [--discover D] COMMAND [ARGS]

commands:
  hosts [SELECTOR] [--json]          the hosts that answer: labels, last seen
  status [SELECTOR] [--json]         every instance of every host, with its HOST;
                                     --json: one JSON object a line, with "host"
  send SELECTOR PLUGIN ID CONTENT [--timeout D] [--json]
                                     send the task to PLUGIN on every host picked, at
                                     once; each host's reply and round trip, then a
                                     summary (answered, error replies, timed out,
                                     no responders, failed)
  start|stop|restart SELECTOR NAME [--yes]
                                     act on NAME on every host picked, after one
                                     confirmation (--yes: none; required without a
                                     terminal)
  events [SELECTOR] [-n N] [-f] [--json]
                                     the fleet's next N events (default 10); -f follows
  run FILE                           run a script over the fleet: names are HOST/NAME,
                                     or send and wait take a SELECTOR first
                                     (send role=edge echo 1 "x")

SELECTOR picks hosts: * (every host), host=edge-1, host=edge-1|edge-2,
host=edge-*, env=prod,role=edge (labels; every term must hold). Hosts are
found by asking $SRV.PING.plugvisor for --discover (default 500ms), each then
confirming itself (and its labels) on its own API within 2s; hosts a
selector names outright (host=a|b) are asked even when they did not answer,
so one that is down is reported as no responder. An empty SELECTOR is an
error: say * for every host.

exit codes: 0 ok on every host, 1 failed, 2 usage, 3 cannot connect or no host
answered, 4 timed out, 5 partial: some hosts did, some did not
`

// fleetCommand is a parsed `plugvisor fleet ctl` command line.
type fleetCommand struct {
	verbOptions
	args     []string
	remote   FleetFlags
	discover time.Duration
	sel      fleet.Selector
	id       uint32 // send's task id
}

func fleetSpec(verb string) (verbSpec, bool) {
	switch verb {
	case "hosts", "status":
		return verbSpec{0, 1, "j"}, true
	case "send":
		return verbSpec{4, 4, "jt"}, true
	case "start", "stop", "restart":
		return verbSpec{2, 2, "y"}, true
	case "events":
		return verbSpec{0, 1, "jfn"}, true
	case "run":
		return verbSpec{1, 1, ""}, true
	}
	return verbSpec{}, false
}

func (c *fleetCommand) verbFlags(fs *flag.FlagSet, verb, which string) {
	c.register(fs, verb, which, defaultEvents, defaultFanOutTimeout)
}

func parseFleet(args []string) (*fleetCommand, error) {
	c := &fleetCommand{discover: fleet.DefaultDiscoverWait}
	_, pos, err := parseLine("fleet ctl", args, c.globalFlags, fleetSpec, c.verbFlags)
	if err != nil {
		return nil, err
	}
	if c.n < 0 || c.timeout < 0 || c.discover <= 0 {
		return nil, fmt.Errorf("%s: -n and --timeout must not be negative, --discover must be positive", c.verb)
	}
	switch {
	case c.remote.URL == "":
		return nil, errors.New("--nats URL is required: the fleet's NATS server")
	case c.remote.Host != "":
		return nil, errors.New("--host is ctl's, for one host: fleet ctl picks hosts with a SELECTOR (host=NAME)")
	}
	sel := ""
	if len(pos) > 0 && c.verb != "run" {
		sel, pos = pos[0], pos[1:]
		if strings.TrimSpace(sel) == "" {
			// An empty argument is most often a variable that was not
			// set: it must not mean every host.
			return nil, fmt.Errorf("%s: the selector is empty: say * for every host", c.verb)
		}
	}
	if c.sel, err = fleet.ParseSelector(sel); err != nil {
		return nil, fmt.Errorf("%s: %w", c.verb, err)
	}
	c.args = pos
	if c.verb == "send" {
		id, err := strconv.ParseUint(pos[1], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("send: task id %q: want a number from 0 to %d", pos[1], uint32(math.MaxUint32))
		}
		c.id = uint32(id)
	}
	return c, nil
}

// defaultFanOutTimeout bounds a task sent to many hosts: the fan-out is
// over when every host answered or this passed.
const defaultFanOutTimeout = 10 * time.Second

func (c *fleetCommand) globalFlags(fs *flag.FlagSet) {
	c.remote.Register(fs)
	fs.DurationVar(&c.discover, "discover", c.discover, "how long to wait for hosts to answer discovery")
}

// FleetMain runs `plugvisor fleet ctl` with args (those after "ctl") and
// returns the exit code; stdin is read for a confirmation when it is a
// terminal.
func FleetMain(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		fmt.Fprint(stderr, fleetUsage)
		return ExitUsage
	case args[0] == "help" || args[0] == "-h" || args[0] == "--help":
		fmt.Fprint(stdout, fleetUsage)
		return ExitOK
	}
	cmd, err := parseFleet(args)
	if err != nil {
		fmt.Fprintf(stderr, "plugvisor fleet ctl: %v\n\n%s", err, fleetUsage)
		return ExitUsage
	}
	r := &fleetRun{ctx: ctx, cmd: cmd, in: stdin, out: stdout, errOut: terminalSafe{stderr}}
	if !cmd.json {
		r.out = terminalSafe{stdout}
	}
	return r.exec()
}

// fleetRun is one invocation of fleet ctl.
type fleetRun struct {
	ctx    context.Context
	cmd    *fleetCommand
	in     *os.File
	out    io.Writer
	errOut io.Writer
	fl     *fleet.Fleet
}

func (r *fleetRun) exec() int {
	f := r.cmd.remote
	op, err := f.Connect("plugvisor fleet ctl")
	if err != nil {
		if errors.Is(err, errUsage) {
			return r.fail(ExitUsage, err)
		}
		return r.fail(ExitUnreachable, err)
	}
	defer op.Close()
	fleet.QuietAsyncErrors(op.Conn, nil) // events -f says what it lost in its own lines
	r.fl, err = fleet.StartFleet(r.ctx, fleet.FleetOptions{Conn: op.Conn, Prefix: f.Prefix, Selector: r.cmd.sel, DiscoverWait: r.cmd.discover})
	if err != nil {
		return r.fail(ExitUnreachable, err)
	}
	defer r.fl.Close()
	switch r.cmd.verb {
	case "hosts":
		return r.hosts()
	case "status":
		return r.status()
	case "send":
		return r.send()
	case "start", "stop", "restart":
		return r.act()
	case "events":
		return r.events()
	case "run":
		return r.script()
	}
	return r.fail(ExitUsage, fmt.Errorf("unknown command %q", r.cmd.verb))
}

func (r *fleetRun) fail(code int, err error) int {
	fmt.Fprintf(r.errOut, "plugvisor fleet ctl %s: %v\n", r.cmd.verb, err)
	return code
}

// targets is the hosts a command acts on: those that answer and match,
// and those the selector names outright.
func (r *fleetRun) targets() []string { return r.fl.Pick(r.cmd.sel) }

func (r *fleetRun) noHosts() int {
	return r.fail(ExitUnreachable, fmt.Errorf("no host answers as %s within --discover %s", r.cmd.sel, r.cmd.discover))
}

// anyConfirmed: some host picked answered on its own API (its
// instances, if any, are in a snapshot taken).
func (r *fleetRun) anyConfirmed() bool {
	for _, h := range r.fl.Hosts() {
		if h.Confirmed {
			return true
		}
	}
	return false
}

func (r *fleetRun) hosts() int {
	hosts := r.fl.Hosts()
	if len(hosts) == 0 {
		return r.noHosts()
	}
	if r.cmd.json {
		for _, h := range hosts {
			_ = writeJSONLine(r.out, h)
		}
		return ExitOK
	}
	if err := hostsTable(r.out, hosts, time.Now()); err != nil {
		return r.fail(ExitFailed, err)
	}
	return ExitOK
}

func (r *fleetRun) status() int {
	snap, err := r.fl.Snapshot(r.ctx)
	if err != nil {
		return r.fail(exitCode(err), err)
	}
	if len(snap) == 0 && !r.anyConfirmed() {
		return r.noHosts()
	}
	if r.cmd.json {
		for _, p := range snap {
			_ = writeJSONLine(r.out, p)
		}
	} else if err := fleetStatusTable(r.out, snap, time.Now()); err != nil {
		return r.fail(ExitFailed, err)
	}
	down := 0
	for _, h := range r.fl.Hosts() {
		if h.Unreachable && (h.Confirmed || len(r.cmd.sel.Named()) > 0) {
			down++
			fmt.Fprintf(r.errOut, "host %s: unreachable, last seen %s\n", h.Name, seenText(h.LastSeen, time.Now()))
		}
	}
	if down > 0 {
		return ExitPartial
	}
	return ExitOK
}

func (r *fleetRun) events() int {
	if !r.cmd.follow && len(r.fl.Hosts()) == 0 {
		// N events of no host would be waited for for ever; -f may wait
		// for hosts to come.
		return r.noHosts()
	}
	events, cancel, err := r.fl.Subscribe(r.ctx, control.DefaultEventBuffer)
	if err != nil {
		return r.fail(exitCode(err), err)
	}
	defer cancel()
	n := 0
	for {
		select {
		case <-r.ctx.Done():
			return ExitOK
		case ev, ok := <-events:
			if !ok {
				return r.fail(ExitUnreachable, errors.New("the subscription ended: the NATS connection is gone"))
			}
			if r.cmd.json {
				_ = writeJSONLine(r.out, ev)
			} else {
				fmt.Fprintln(r.out, eventLine(ev))
			}
			if n++; !r.cmd.follow && n >= r.cmd.n {
				return ExitOK
			}
		}
	}
}

// confirm asks once before acting on many hosts; without a terminal the
// operator must have said --yes.
func (r *fleetRun) confirm(what string) error {
	if r.cmd.yes {
		return nil
	}
	if r.in == nil || !isTerminal(r.in) {
		return fmt.Errorf("%w: %s: not asked without a terminal on stdin: say --yes", errUsage, what)
	}
	fmt.Fprintf(r.errOut, "%s? [y/N] ", what)
	line, _ := bufio.NewReader(io.LimitReader(r.in, 256)).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return errDeclined
	}
	return nil
}

var errDeclined = errors.New("not confirmed: nothing done")

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
