package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/plugvisor/plugvisor/registry"
)

// Probe connects as the host would and writes what it found to w: the
// server and its version, JetStream on or off, the records stream present
// (or what start-up will do about it), and which of the host's subjects
// the server refuses. The error says what stops the link from working.
func Probe(ctx context.Context, f *registry.Fleet, w io.Writer) error {
	refused := make(chan error, 8)
	opts, err := options(f, "plugvisor check "+f.Host, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	opts = append(opts, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case refused <- err:
		default:
		}
	}))
	nc, err := nats.Connect(strings.Join(f.Servers, ","), opts...)
	if err != nil {
		fmt.Fprintf(w, "fleet: cannot connect to %s: %v\n", Redacted(f.Servers), err)
		return fmt.Errorf("fleet: connect: %w", err)
	}
	defer nc.Close()
	fmt.Fprintf(w, "fleet: connected to %s (nats-server %s) as host %s\n", nc.ConnectedUrlRedacted(), nc.ConnectedServerVersion(), f.Host)
	var problems []error
	if err := probeStream(ctx, nc, f, w); err != nil {
		problems = append(problems, err)
	}
	if err := probePermissions(nc, SubjectsOf(f), refused, w); err != nil {
		problems = append(problems, err)
	}
	return errors.Join(problems...)
}

func probeStream(ctx context.Context, nc *nats.Conn, f *registry.Fleet, w io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, f.ConnectTimeout)
	defer cancel()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	s, err := js.Stream(ctx, f.Stream)
	switch {
	case err == nil:
		info := s.CachedInfo()
		fmt.Fprintf(w, "  JetStream: on; stream %s present: subjects %s, %d records, %d bytes\n",
			f.Stream, strings.Join(info.Config.Subjects, " "), info.State.Msgs, info.State.Bytes)
		return nil
	case errors.Is(err, jetstream.ErrStreamNotFound) && f.CreateStream:
		fmt.Fprintf(w, "  JetStream: on; stream %s missing: plugvisor creates it on start (subjects %s)\n", f.Stream, StreamSubjects(f.Prefix))
		return nil
	case errors.Is(err, jetstream.ErrStreamNotFound):
		fmt.Fprintf(w, "  JetStream: on; stream %s missing and create_stream = false\n", f.Stream)
		return fmt.Errorf("fleet: stream %s is missing: provision it with subjects %s", f.Stream, StreamSubjects(f.Prefix))
	case errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
		fmt.Fprintln(w, "  JetStream: off on this server or account: records cannot be stored")
		return fmt.Errorf("fleet: JetStream is not enabled: %w", err)
	}
	fmt.Fprintf(w, "  JetStream: stream %s could not be looked up: %v\n", f.Stream, err)
	return fmt.Errorf("fleet: look up stream %s: %w", f.Stream, err)
}

// probePermissions subscribes where the host's API listens and where the
// fleet calls for presence, and publishes where its events and its
// presence go (an empty message, which no fleet takes for a presence); a
// server that refuses any says so asynchronously, which a flush round trip
// collects.
func probePermissions(nc *nats.Conn, s Subjects, refused <-chan error, w io.Writer) error {
	var err error
	for _, subject := range []string{s.APIGroup() + ".>", Discover(s.Prefix)} {
		var sub *nats.Subscription
		if sub, err = nc.SubscribeSync(subject); err != nil {
			break
		}
		defer sub.Unsubscribe()
	}
	for _, subject := range []string{s.probe(), s.Presence()} {
		if err == nil {
			err = nc.Publish(subject, nil)
		}
	}
	if err == nil {
		err = nc.FlushTimeout(5 * time.Second)
	}
	if err != nil {
		return fmt.Errorf("fleet: permissions probe: %w", err)
	}
	// The flush's round trip comes after the server's refusals, but the
	// error handler runs on another goroutine: the connection's last error
	// is set already, the handler's queue may be behind.
	var problems []error
	for {
		select {
		case err := <-refused:
			problems = append(problems, err)
			continue
		default:
		}
		break
	}
	if last := nc.LastError(); last != nil && len(problems) == 0 {
		problems = append(problems, last)
	}
	for _, err := range problems {
		fmt.Fprintf(w, "  permissions: refused: %v\n", err)
	}
	if len(problems) == 0 {
		fmt.Fprintf(w, "  permissions: may serve %s.>, publish events under %s and answer %s on %s\n",
			s.APIGroup(), s.Event(""), Discover(s.Prefix), s.Presence())
	}
	return errors.Join(problems...)
}
