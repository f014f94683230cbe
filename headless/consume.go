package headless

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/plugvisor/plugvisor/internal/clip"
	"github.com/plugvisor/plugvisor/internal/ratelimit"
	"github.com/plugvisor/plugvisor/supervisor"
)

// consumer takes events off the subscription and never waits on the
// output: records become JSON lines in chunks handed to the outbox, which
// drops what does not fit, and the rest become log lines. Keeping up is
// its only job, since what it does not take the engine drops.
//
// State changes are not logged here: the supervisor logs them itself, with
// detail no event carries.
type consumer struct {
	log    *slog.Logger
	out    *outbox
	output *forwarder
	enc    lineEncoder
	buf    chunk
	hurry  atomic.Bool // at exit, out of time: count records instead of encoding them

	// Losses are said at most once a second, with what was lost since they
	// were last said, so a flood of drops costs a line a second.
	recordWarn *ratelimit.Limiter
	reported   loss // records dropped over budget that were said
	eventWarn  *ratelimit.Limiter
	eventsLost uint64 // events the engine dropped for us, not yet said
	eventsAll  uint64
}

func newConsumer(log *slog.Logger, api supervisor.API, out *outbox) *consumer {
	return &consumer{
		log: log, out: out, output: newForwarder(log, api),
		recordWarn: ratelimit.New(1, time.Second), eventWarn: ratelimit.New(1, time.Second),
	}
}

// run consumes until events closes. Chunks are handed over when no event is
// waiting, so a burst costs few writes, or when full.
func (c *consumer) run(events <-chan supervisor.Event) {
	for ev := range events {
		c.handle(ev)
		if len(events) == 0 {
			c.handOver()
		}
	}
	c.handOver()
	c.output.flush()
	if c.eventsLost > 0 {
		c.sayEventsLost()
	}
}

func (c *consumer) handle(ev supervisor.Event) {
	switch ev.Type {
	case supervisor.EventRecords:
		c.records(ev)
	case supervisor.EventLog:
		c.output.line(ev.Log, ev.Instance, time.Now())
	case supervisor.EventTask:
		logTask(c.log, ev)
	case supervisor.EventDropped:
		c.eventsLost += ev.Dropped
		c.eventsAll += ev.Dropped
		if ok, _ := c.eventWarn.Allow(time.Now()); ok {
			c.sayEventsLost()
		}
	}
}

func (c *consumer) records(ev supervisor.Event) {
	if c.hurry.Load() {
		c.out.countDropped(len(ev.Records))
		return
	}
	c.enc.event(ev.Time, ev.Plugin, ev.Instance)
	for i := range ev.Records {
		if c.buf.b == nil {
			c.buf.b = c.out.buffer()
		}
		c.buf.b = c.enc.append(c.buf.b, &ev.Records[i])
		c.buf.records++
		if len(c.buf.b) >= chunkSize {
			c.handOver()
		}
	}
}

// handOver gives the chunk being built to the outbox and says, at most once
// a second, what the outbox dropped for want of room.
func (c *consumer) handOver() {
	if c.buf.records == 0 {
		return
	}
	if c.out.put(c.buf) {
		c.buf = chunk{}
	} else {
		c.buf = chunk{b: c.buf.b[:0]}
	}
	over := c.out.losses().overBudget
	if over.records == c.reported.records {
		return
	}
	if ok, _ := c.recordWarn.Allow(time.Now()); ok {
		c.log.Warn("output fell behind; records dropped", "records", over.records-c.reported.records,
			"bytes", over.bytes-c.reported.bytes, "total_records", over.records)
		c.reported = over
	}
}

func (c *consumer) sayEventsLost() {
	c.log.Warn("output fell behind; events dropped", "dropped", c.eventsLost, "total", c.eventsAll)
	c.eventsLost = 0
}

func logTask(log *slog.Logger, ev supervisor.Event) {
	t := ev.Task
	switch {
	case !t.Outcome.Final():
	case t.Outcome.OK() || t.Outcome == supervisor.OutcomeError:
		log.Info("task answered", "instance", ev.Instance, "id", t.ID, "token", t.Token, "outcome", string(t.Outcome), "rtt", t.Reply.RTT)
	default:
		log.Warn("task failed", "instance", ev.Instance, "id", t.ID, "token", t.Token, "outcome", string(t.Outcome), "detail", clip.Text(t.Detail, OutputLineMax))
	}
}
