package fleet

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// OperatorOptions say how an operator's tool (ctl, attach, a script)
// reaches the fleet.
type OperatorOptions struct {
	URL      string // one or more server URLs, comma-separated; user:password@ allowed
	Creds    string // a .creds file
	NKeySeed string // a file holding an NKey user seed
	// User logs in with the password in PasswordFile (see ReadPasswordFile).
	User, PasswordFile string
	TLSCA              string // a CA file for tls:// servers
	Name               string // the connection's name, as the server lists it
	// Inbox is where replies arrive; when empty, OperatorInbox of the
	// login the options name (User, the URL's user, the NKey's public
	// key) if it is one subject token, else nats.go's _INBOX.
	Inbox   string
	Timeout time.Duration
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
	l := login{creds: o.Creds, seed: o.NKeySeed, user: o.User, ca: o.TLSCA}
	if o.PasswordFile != "" {
		if o.User == "" {
			return nil, fmt.Errorf("password file %s: no user to log in as", o.PasswordFile)
		}
		var err error
		if l.password, err = ReadPasswordFile(o.PasswordFile); err != nil {
			return nil, err
		}
	}
	auth, err := l.options()
	if err != nil {
		return nil, err
	}
	opts = append(opts, auth...)
	inbox, err := o.inbox()
	if err != nil {
		return nil, err
	}
	if inbox != "" {
		opts = append(opts, nats.CustomInboxPrefix(inbox))
	}
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", redact(o.URL), err)
	}
	op.Conn = nc
	return op, nil
}

// inbox is the inbox prefix the options ask for, "" for nats.go's own.
func (o OperatorOptions) inbox() (string, error) {
	if o.Inbox != "" {
		return o.Inbox, nil
	}
	name := o.User
	if name == "" {
		name = urlUser(o.URL)
	}
	if name == "" && o.NKeySeed != "" && o.Creds == "" {
		var err error
		if name, err = seedPublicKey(o.NKeySeed); err != nil {
			return "", err
		}
	}
	if name == "" || !isToken(name) {
		return "", nil
	}
	return OperatorInbox(name), nil
}

// urlUser is the user of the first URL of a comma-separated list that
// names one, as nats.go logs in with it.
func urlUser(urls string) string {
	for _, s := range strings.Split(urls, ",") {
		u, err := url.Parse(strings.TrimSpace(s))
		if err == nil && u.User != nil && u.User.Username() != "" {
			return u.User.Username()
		}
	}
	return ""
}

// seedPublicKey is the public key of the user NKey whose seed is in path.
func seedPublicKey(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("nkey seed %s: %w", path, err)
	}
	kp, err := nkeys.ParseDecoratedNKey(b)
	if err != nil {
		return "", fmt.Errorf("nkey seed %s: %w", path, err)
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil {
		return "", fmt.Errorf("nkey seed %s: %w", path, err)
	}
	return pub, nil
}

// maxPasswordFile bounds what ReadPasswordFile reads.
const maxPasswordFile = confMaxPassword + 2

// ReadPasswordFile reads a password kept in a file of its own: a regular
// file (a symbolic link to one is followed) that neither its group nor
// others may read, holding the password and at most one line ending,
// which is not part of it.
func ReadPasswordFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("password file %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("password file %s: not a regular file (%s)", path, st.Mode().Type())
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("password file %s: mode %04o lets its group or others read it; chmod 600 it", path, perm)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxPasswordFile+1))
	if err != nil {
		return "", fmt.Errorf("password file %s: %w", path, err)
	}
	if len(b) > maxPasswordFile {
		return "", fmt.Errorf("password file %s: longer than %d bytes", path, confMaxPassword)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if err := checkLoginText("password file "+path, "password", pw, confMaxPassword); err != nil {
		return "", err
	}
	return pw, nil
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
