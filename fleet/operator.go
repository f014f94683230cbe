package fleet

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// OperatorOptions say how an operator's tool (ctl, attach, a script)
// reaches the fleet.
type OperatorOptions struct {
	URL      string // one or more server URLs, comma-separated; user:password@ allowed
	Creds    string // a .creds file
	NKeySeed string // a file holding an NKey user seed
	TLSCA    string // a CA file for tls:// servers
	Name     string // the connection's name, as the server lists it
	Timeout  time.Duration
}

// Operator is an operator's connection: it reconnects as a host's does,
// and Done closes only when it is closed for good.
type Operator struct {
	Conn   *nats.Conn
	closed chan struct{}
}

// ErrConnClosed is an operator's connection that is closed for good.
var ErrConnClosed = errors.New("NATS connection closed")

// ConnectOperator connects; unlike a host, an operator wants to know at
// once that no server answers.
func ConnectOperator(o OperatorOptions) (*Operator, error) {
	op := &Operator{closed: make(chan struct{})}
	opts := []nats.Option{
		nats.Name(o.Name), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second),
		nats.ClosedHandler(func(*nats.Conn) { close(op.closed) }),
	}
	if o.Timeout > 0 {
		opts = append(opts, nats.Timeout(o.Timeout))
	}
	auth, err := login{creds: o.Creds, seed: o.NKeySeed, ca: o.TLSCA}.options()
	if err != nil {
		return nil, err
	}
	opts = append(opts, auth...)
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", redact(o.URL), err)
	}
	op.Conn = nc
	return op, nil
}

// redact hides the user information of every URL in a comma-separated
// list.
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, u := range parts {
		if at := strings.LastIndexByte(u, '@'); at >= 0 {
			if scheme := strings.Index(u, "://"); scheme >= 0 && scheme < at {
				parts[i] = u[:scheme+3] + "***" + u[at:]
			}
		}
	}
	return strings.Join(parts, ",")
}

// Client is the API of one host, through this connection; its Done and
// Err follow the connection.
func (o *Operator) Client(prefix, host string) *Client {
	c := NewClient(ClientOptions{Conn: o.Conn, Subjects: Subjects{Prefix: prefix, Host: host}})
	c.closed = o.closed
	return c
}

// Close closes the connection.
func (o *Operator) Close() { o.Conn.Close() }

// Done is closed when the client's connection is closed for good (nil for
// a client made on a connection of the caller's).
func (c *Client) Done() <-chan struct{} { return c.closed }

// Err says why the connection ended, nil while it lives or reconnects.
func (c *Client) Err() error {
	if c.nc.IsClosed() {
		return fmt.Errorf("host %s: %w", c.subj.Host, ErrConnClosed)
	}
	return nil
}
