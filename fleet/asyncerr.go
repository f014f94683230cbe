package fleet

import (
	"errors"
	"log/slog"

	"github.com/nats-io/nats.go"
)

// QuietAsyncErrors replaces nats.go's default handler of asynchronous
// errors, which prints each to stderr: on a console that tears the screen,
// once for every burst of messages a subscription could not keep. A slow
// consumer's losses are counted by the subscription and told in an
// EventDropped (Subscribe), so they are no error here; any other goes to
// log, or nowhere when log is nil.
func QuietAsyncErrors(nc *nats.Conn, log *slog.Logger) {
	nc.SetErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
		if errors.Is(err, nats.ErrSlowConsumer) || log == nil {
			return
		}
		subject := ""
		if sub != nil {
			subject = sub.Subject
		}
		log.Warn("fleet: NATS error", "subject", subject, "err", err)
	})
}
