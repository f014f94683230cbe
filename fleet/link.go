package fleet

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/plugvisor/plugvisor/internal/ratelimit"
	"github.com/plugvisor/plugvisor/internal/spool"
	"github.com/plugvisor/plugvisor/supervisor"
)

// LinkOptions are what a Link needs: a connection made by Connect (its
// inbox prefix is the host's, it buffers nothing while disconnected), the
// engine's API, and where records wait.
type LinkOptions struct {
	Conn     *nats.Conn
	API      supervisor.API
	Subjects Subjects
	Stream   StreamConfig
	Spool    *spool.Spool
	// PublishWindow bounds the record bytes sent and not yet acknowledged.
	PublishWindow int
	// Buffer is the events the engine queues for the link (its bytes are
	// bounded by the engine's subscriber budget).
	Buffer int
	Log    *slog.Logger
}

// Link is one engine's presence on the fleet: a subscriber of the engine
// that spools its records and publishes them to JetStream, and publishes
// its other events on the host's event subjects.
type Link struct {
	o     LinkOptions
	stats stats
	pub   *publisher
	enc   recordEncoder

	cancel   context.CancelFunc
	wg       sync.WaitGroup
	consumed chan struct{} // closed once the engine's events have all been taken
	// unsubscribe closes the subscription; what it holds is still taken.
	unsubscribe func()
	tooLargeLog *ratelimit.Limiter
}

// StartLink subscribes to the engine and starts publishing. Call it before
// the engine runs to have its records from the first; Close ends it.
func StartLink(ctx context.Context, o LinkOptions) (*Link, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Buffer <= 0 {
		o.Buffer = 4096
	}
	run, err := runID()
	if err != nil {
		return nil, err
	}
	l := &Link{o: o, consumed: make(chan struct{}), tooLargeLog: ratelimit.New(1, time.Minute)}
	l.enc = recordEncoder{subjects: o.Subjects, idPrefix: []byte(o.Subjects.Host + "." + run + ".")}
	l.pub, err = newPublisher(o.Conn, o.Spool, o.PublishWindow, o.Log, &l.stats)
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	events, unsubscribe, err := o.API.Subscribe(ctx, o.Buffer)
	if err != nil {
		return nil, fmt.Errorf("fleet: subscribe to the engine: %w", err)
	}
	ctx, l.cancel = context.WithCancel(ctx)
	l.wg.Add(3)
	l.unsubscribe = unsubscribe
	go func() {
		defer l.wg.Done()
		defer unsubscribe()
		l.consume(ctx, events)
		close(l.consumed)
	}()
	looked := make(chan struct{})
	go func() { defer l.wg.Done(); l.pub.run(ctx, looked) }()
	go func() {
		defer l.wg.Done()
		ensureStream(ctx, o.Conn, l.pub.js, o.Stream, o.Log, &l.stats, looked, l.pub.noStream)
	}()
	return l, nil
}

// runID makes this run's message ids unlike any other run's, so that a
// record spooled to a file and sent by the next run keeps its own id while
// new records never reuse one.
func runID() (string, error) {
	var b [9]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("fleet: run id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Close stops the link; records not yet acknowledged stay in the spool.
func (l *Link) Close() {
	l.cancel()
	l.wg.Wait()
}

// Drain is for an engine that has stopped: it closes the subscription,
// waits until ctx ends for the events it held to be taken and every
// spooled record to be acknowledged. It gives up at once while there is no
// connection.
func (l *Link) Drain(ctx context.Context) {
	l.unsubscribe()
	select {
	case <-l.consumed:
	case <-ctx.Done():
		return
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for l.o.Conn.IsConnected() {
		if l.o.Spool.Len() == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Stats says what the link has done.
func (l *Link) Stats() Stats {
	s := l.stats.snapshot()
	s.Connected = l.o.Conn.IsConnected()
	sp := l.o.Spool.Stats()
	s.SpoolRecords, s.SpoolBytes = int64(sp.MemoryItems+sp.FileItems), sp.MemoryBytes+sp.FileBytes
	s.Dropped += sp.Dropped
	s.DroppedBytes += sp.DroppedBytes
	return s
}

// consume takes the engine's events off the subscription: records into the
// spool, the rest onto the event subjects. It never waits on the network
// for a record; a slow event publish only makes the engine drop events for
// this subscriber, which is counted.
func (l *Link) consume(ctx context.Context, events <-chan supervisor.Event) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			l.take(&ev)
		}
	}
}

func (l *Link) take(ev *supervisor.Event) {
	switch ev.Type {
	case supervisor.EventRecords:
		for i := range ev.Records {
			b := l.enc.blob(ev.Plugin, ev.Instance, &ev.Records[i])
			if len(b) > l.maxRecord() {
				l.tooLarge(ev, len(b))
				continue
			}
			l.o.Spool.Push(b)
		}
		return
	case supervisor.EventDropped:
		// Events the engine could not queue for the link, of any type
		// (records among them): counted as events, since how many
		// records they held is not known.
		l.stats.eventsDropped.Add(ev.Dropped)
	}
	l.publishEvent(ev)
}

// headerRoom is what a record message's subject and headers may take
// beside its body within the server's payload limit.
const headerRoom = 1 << 10

// maxRecord is the largest record blob the server can take: one the
// server refuses would be refused at every attempt, and everything
// behind it would wait for ever.
func (l *Link) maxRecord() int {
	if mp := l.o.Conn.MaxPayload(); mp > headerRoom {
		return int(mp) - headerRoom
	}
	return defaultMaxRecord
}

// defaultMaxRecord is the limit before the server has said its own: NATS's
// default max_payload, less the headers.
const defaultMaxRecord = 1<<20 - headerRoom

// tooLarge drops and counts a record the server could never take; the log
// says so at most once a minute.
func (l *Link) tooLarge(ev *supervisor.Event, size int) {
	l.stats.dropped.Add(1)
	l.stats.droppedBytes.Add(uint64(size))
	if ok, held := l.tooLargeLog.Allow(time.Now()); ok {
		l.o.Log.Warn("fleet: record larger than the server takes; dropped", "plugin", ev.Plugin, "instance", ev.Instance,
			"bytes", size, "max", l.maxRecord(), "also_dropped_before", held)
	}
}

func (l *Link) publishEvent(ev *supervisor.Event) {
	if !l.o.Conn.IsConnected() {
		l.stats.eventsDropped.Add(1)
		return
	}
	b, err := EncodeEvent(ev)
	if err == nil {
		err = l.o.Conn.Publish(l.o.Subjects.Event(ev.Plugin), b)
	}
	if err != nil {
		l.stats.eventsDropped.Add(1)
		return
	}
	l.stats.eventsPublished.Add(1)
}
