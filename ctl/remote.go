package ctl

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/plugvisor/plugvisor/control"
	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/supervisor"
)

// remote is a running plugvisor as ctl reaches it: on its control socket
// or over NATS, the same API either way.
type remote interface {
	supervisor.API
	HistoryPage(ctx context.Context, q supervisor.HistoryQuery) (control.HistoryPage, error)
	// Err says why the connection ended, nil while it lives.
	Err() error
	Close() error
}

// FleetFlags say how to reach a host over NATS: --nats URL --host NAME,
// with --creds, --nkey or --user and --password-file to log in, --tls-ca
// and --prefix.
type FleetFlags struct {
	URL, Host, Prefix, Creds, NKey, CA string
	User, PasswordFile                 string
}

// Register adds the flags to fs (again on each flag set of a command line
// parsed in parts: the values carry over).
func (f *FleetFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.URL, "nats", f.URL, "NATS server URL(s): call a fleet host's API instead of a socket")
	fs.StringVar(&f.Host, "host", f.Host, "the fleet host to call (with --nats)")
	fs.StringVar(&f.Prefix, "prefix", cmp.Or(f.Prefix, "plugvisor"), "the fleet's subject prefix")
	fs.StringVar(&f.Creds, "creds", f.Creds, "NATS .creds file")
	fs.StringVar(&f.NKey, "nkey", f.NKey, "NATS NKey seed file")
	fs.StringVar(&f.User, "user", f.User, "NATS user, with --password-file")
	fs.StringVar(&f.PasswordFile, "password-file", f.PasswordFile, "file holding the NATS user's password (mode 0600)")
	fs.StringVar(&f.CA, "tls-ca", f.CA, "CA file for tls:// servers")
}

// dial reaches the plugvisor the flags name; the code is the exit code of
// a failure.
func (r *run) dial() (remote, int, error) {
	f := r.cmd.fleet
	if f.URL == "" {
		return r.dialSocket()
	}
	return f.dial()
}

func (r *run) dialSocket() (remote, int, error) {
	if r.cmd.fleet.Host != "" {
		return nil, ExitUsage, errors.New("--host needs --nats")
	}
	path, err := SocketPath(r.cmd.socket, r.cmd.config)
	if err != nil {
		return nil, ExitUsage, err
	}
	c, err := control.Dial(r.ctx, path)
	if err != nil {
		return nil, ExitUnreachable, err
	}
	return c, ExitOK, nil
}

// dial connects to the fleet host the flags name; its Close closes the
// connection.
func (f FleetFlags) dial() (remote, int, error) {
	c, op, err := f.Dial("plugvisor ctl")
	if err != nil {
		if errors.Is(err, errUsage) {
			return nil, ExitUsage, err
		}
		return nil, ExitUnreachable, err
	}
	return natsRemote{c, op}, ExitOK, nil
}

// Dial connects as the flags say and gives the API of their host, for ctl
// and attach alike; closing the Operator closes the connection.
func (f FleetFlags) Dial(name string) (*fleet.Client, *fleet.Operator, error) {
	if f.Host == "" {
		return nil, nil, fmt.Errorf("%w: --nats needs --host NAME, the fleet host to call", errUsage)
	}
	op, err := f.Connect(name)
	if err != nil {
		return nil, nil, err
	}
	return op.Client(f.Prefix, f.Host), op, nil
}

// Connect logs in as the operator the flags name: the one place a command
// line becomes an operator's connection, for ctl, attach, fleet ctl and
// the fleet console alike. name is the connection's name on the server.
func (f FleetFlags) Connect(name string) (*fleet.Operator, error) {
	if (f.User == "") != (f.PasswordFile == "") {
		return nil, fmt.Errorf("%w: --user and --password-file go together", errUsage)
	}
	return fleet.ConnectOperator(fleet.OperatorOptions{URL: f.URL, Creds: f.Creds, NKeySeed: f.NKey,
		User: f.User, PasswordFile: f.PasswordFile, TLSCA: f.CA, Name: name})
}

// natsRemote is a fleet client that owns its connection.
type natsRemote struct {
	*fleet.Client
	op *fleet.Operator
}

func (n natsRemote) Close() error {
	n.op.Close()
	return nil
}
