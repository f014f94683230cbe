package fleet

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/plugvisor/plugvisor/internal/ratelimit"
	"github.com/plugvisor/plugvisor/registry"
)

// SubjectsOf is this host's subjects under the configured prefix.
func SubjectsOf(f *registry.Fleet) Subjects { return Subjects{Prefix: f.Prefix, Host: f.Host} }

// StreamOf is the records stream the configuration describes.
func StreamOf(f *registry.Fleet) StreamConfig {
	return StreamConfig{
		Name: f.Stream, Subjects: StreamSubjects(f.Prefix), Create: f.CreateStream,
		MaxAge: f.StreamMaxAge, MaxBytes: int64(f.StreamMaxBytes), Replicas: f.StreamReplicas,
		Duplicates: f.DuplicateWindow,
	}
}

// Connect opens the host's connection. It returns at once even when no
// server answers (records spool until one does) unless retry is false, as
// for `plugvisor check`, which wants to know. The connection buffers
// nothing while disconnected (the spool does, in bytes it counts), keeps
// reconnecting forever, and takes its replies on the host's own inbox
// prefix, the one its permissions allow.
func Connect(f *registry.Fleet, name string, retry bool, log *slog.Logger) (*nats.Conn, error) {
	opts, err := options(f, name, log)
	if err != nil {
		return nil, err
	}
	if retry {
		opts = append(opts, nats.RetryOnFailedConnect(true))
	}
	nc, err := nats.Connect(strings.Join(f.Servers, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("fleet: connect to %s: %w", Redacted(f.Servers), err)
	}
	return nc, nil
}

func options(f *registry.Fleet, name string, log *slog.Logger) ([]nats.Option, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.Timeout(f.ConnectTimeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.ReconnectBufSize(-1),
		nats.CustomInboxPrefix(SubjectsOf(f).Inbox()),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("fleet: disconnected; records wait in the spool", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("fleet: reconnected", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(serverErrorLog(log)),
	}
	auth, err := login{creds: f.Creds, seed: f.NKeySeed, user: f.User, password: f.Password,
		ca: f.TLSCA, cert: f.TLSCert, key: f.TLSKey}.options()
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	return append(opts, auth...), nil
}

// serverErrorLog logs the server's asynchronous errors at most a few a
// minute: an operator out of this host's scope that asks for discovery in
// a loop has the host's every answer refused, and must not flood its log.
func serverErrorLog(log *slog.Logger) nats.ErrHandler {
	limit := ratelimit.New(5, time.Minute)
	return func(_ *nats.Conn, sub *nats.Subscription, err error) {
		ok, held := limit.Allow(time.Now())
		if !ok {
			return
		}
		subject := ""
		if sub != nil {
			subject = sub.Subject
		}
		log.Warn("fleet: server error", "subject", subject, "err", err, "not_logged", held)
	}
}

// login is how a connection proves who it is and checks the server: the
// one place hosts and operators alike turn it into options.
type login struct {
	creds, seed, user, password string
	ca, cert, key               string
}

func (l login) options() ([]nats.Option, error) {
	var opts []nats.Option
	switch {
	case l.creds != "":
		opts = append(opts, nats.UserCredentials(l.creds))
	case l.seed != "":
		o, err := nats.NkeyOptionFromSeed(l.seed)
		if err != nil {
			return nil, fmt.Errorf("nkey seed %s: %w", l.seed, err)
		}
		opts = append(opts, o)
	case l.user != "":
		opts = append(opts, nats.UserInfo(l.user, l.password))
	}
	if l.ca != "" {
		opts = append(opts, nats.RootCAs(l.ca))
	}
	if l.cert != "" {
		opts = append(opts, nats.ClientCert(l.cert, l.key))
	}
	return opts, nil
}

// Redacted is the server URLs for messages and logs, a password in any of
// them hidden: logs reach History, which operators read over the network.
func Redacted(servers []string) string {
	return redact(strings.Join(servers, ", "))
}
