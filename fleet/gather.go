package fleet

import (
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// A records subscription receives one message per record, where a host's
// engine publishes one Records event per frame of many: passed on one by
// one, 100,000 records a second are 100,000 events a second for the
// subscriber (the console) to queue, take and fold. gather turns the
// records that wait in the NATS client's queue into one Records event per
// instance instead. It never waits for more: what it holds is passed on as
// soon as the queue in front of it is empty (or after gatherRecords
// messages, should the queue never empty), so an idle stream's record goes
// out as it comes and only a backlog is gathered, bounded by these.
const (
	// gatherRecords bounds one event's records; the engine's frames hold
	// up to protocol.MaxRecordsPerFrame, but a smaller event keeps what one
	// drop loses (a whole event) small.
	gatherRecords = 1024
	// gatherBytes bounds what is held across instances, by
	// supervisor.RecordSize: a record may be a MiB (MaxRecordBytes), and
	// a few of them are enough for one event.
	gatherBytes = 1 << 20
	// gatherInstances bounds the instances held at once: a backlog
	// spread over more is passed on in events of the first ones.
	gatherInstances = 64
)

// gather holds a backlog's records, one Records event per instance, in the
// order their first records came. It is used by one subscription's
// goroutine only.
type gather struct {
	events []supervisor.Event
	bytes  int64
	// handled counts the messages handled since the first record held:
	// a queue that never empties (another host's flood, not selected)
	// must not hold a record for ever.
	handled int
}

// add takes a Records event of one record (what recordEventOf makes) and
// reports whether the events held have reached a bound and must be
// passed on.
func (g *gather) add(ev supervisor.Event) (full bool) {
	i := g.find(ev)
	switch {
	case i >= 0:
		g.events[i].Records = append(g.events[i].Records, ev.Records...)
	default:
		ev.Records = append(make([]protocol.Record, 0, 8), ev.Records...)
		g.events = append(g.events, ev)
		i = len(g.events) - 1
	}
	g.bytes += supervisor.RecordsSize(ev.Records)
	return len(g.events[i].Records) >= gatherRecords || g.bytes >= gatherBytes || len(g.events) >= gatherInstances
}

// find is the index of the event held for ev's instance, or -1. The newest
// is looked at first: a backlog is mostly runs of one instance.
func (g *gather) find(ev supervisor.Event) int {
	for i := len(g.events) - 1; i >= 0; i-- {
		if e := &g.events[i]; e.Instance == ev.Instance && e.Plugin == ev.Plugin && e.Host == ev.Host {
			return i
		}
	}
	return -1
}

// held reports whether anything waits to be passed on.
func (g *gather) held() bool { return len(g.events) > 0 }

// overdue counts one more message handled while records are held, and
// reports whether they have waited behind gatherRecords of them: then
// they go on whether or not the queue is empty.
func (g *gather) overdue() bool {
	g.handled++
	return g.handled >= gatherRecords
}

// take hands over the events held, which are the caller's from then on.
func (g *gather) take() []supervisor.Event {
	out := g.events
	g.events, g.bytes, g.handled = make([]supervisor.Event, 0, cap(out)), 0, 0
	return out
}
