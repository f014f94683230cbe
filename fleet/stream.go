package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StreamConfig is the records stream: its name, and how it is made when it
// is missing and the host may make it.
type StreamConfig struct {
	Name     string
	Subjects string // what it captures: StreamSubjects(prefix)
	Create   bool
	MaxAge   time.Duration
	MaxBytes int64
	Replicas int
	// Duplicates is the window in which the stream drops a record whose
	// message id it has stored already: a resend after a lost ack within it
	// is stored once.
	Duplicates time.Duration
}

// jsConfig is the stream as plugvisor creates it: file storage, the oldest
// records discarded at a limit (a full stream must not stop the fleet's
// newest data), limits retention so any number of consumers read it.
func (c StreamConfig) jsConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name: c.Name, Subjects: []string{c.Subjects},
		Storage: jetstream.FileStorage, Retention: jetstream.LimitsPolicy, Discard: jetstream.DiscardOld,
		MaxAge: c.MaxAge, MaxBytes: c.MaxBytes, Replicas: max(c.Replicas, 1), Duplicates: c.Duplicates,
		Description: "plugvisor records, one subject per host, plugin and data type",
	}
}

// ensureStream finds the stream, or makes it when allowed, once connected,
// and again after each reconnect and whenever again signals (the
// publisher found no stream: a server that lost its JetStream state, a
// stream deleted, one an administrator provisions later). It never stops
// publishing: the publisher's own errors say when records cannot be
// stored.
//
// looked is closed after the first attempt, whatever its outcome.
func ensureStream(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, c StreamConfig, log *slog.Logger, st *stats,
	looked chan<- struct{}, again <-chan struct{}) {
	connected := nc.StatusChanged(nats.CONNECTED)
	defer nc.RemoveStatusListener(connected)
	var once sync.Once
	defer once.Do(func() { close(looked) })
	var retry <-chan time.Time
	for {
		if nc.IsConnected() {
			err := findOrCreate(ctx, js, c)
			once.Do(func() { close(looked) })
			if ctx.Err() != nil {
				return
			}
			retry = nil
			if err != nil {
				st.noteError(err)
				log.Warn("fleet: records stream not ready; records wait in the spool", "stream", c.Name, "err", err)
				retry = time.After(30 * time.Second)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-connected:
		case <-again:
		case <-retry:
		}
	}
}

func findOrCreate(ctx context.Context, js jetstream.JetStream, c StreamConfig) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := js.Stream(ctx, c.Name)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jetstream.ErrStreamNotFound) && c.Create:
		if _, err := js.CreateStream(ctx, c.jsConfig()); err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("create stream %s: %w", c.Name, err)
		}
		return nil
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return fmt.Errorf("stream %s is missing and create_stream is false: provision it with subjects %q", c.Name, c.Subjects)
	}
	return fmt.Errorf("look up stream %s: %w", c.Name, err)
}
