package fleet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/plugvisor/plugvisor/control"
	"github.com/plugvisor/plugvisor/internal/lossy"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// Bounds of a subscription's queue inside the NATS client, in front of its
// own: what arrives faster than it is decoded waits there, and what does
// not fit is dropped by the NATS client and counted here.
const (
	SubscriptionPendingBytes = 8 << 20
	minPendingMsgs           = 1024
)

// Subscribe implements supervisor.API: the host's events, as its fleet
// link publishes them on Subjects.AllEvents, and its records, from
// Subjects.AllRecords, as EventRecords events: a record alone when it
// comes alone, and the records that waited in the NATS client's queue
// behind one another gathered into one event per instance (bounded by
// gatherRecords and gatherBytes, never held waiting for more). Nothing is
// replayed: what was published before the subscription is in History (and,
// for records, in the stream). It returns once the server has the
// subscriptions, so anything published after is delivered.
//
// No subscriber slows the connection: one that falls behind loses events,
// counted (Dropped), and the next event it receives is an EventDropped
// saying how many; the host's own drops arrive the same way. The queue is
// bounded by buffer events and control.ClientEventBytes bytes, and the NATS
// client's queue in front of it by SubscriptionPendingBytes; a message that
// does not decode counts as lost. A loss in the NATS client's queue is seen,
// and told, when the next message arrives. The channel closes on cancel,
// when ctx ends, or when the connection closes.
func (c *Client) Subscribe(ctx context.Context, buffer int) (<-chan supervisor.Event, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s := &eventSub{q: lossy.New(buffer, &c.dropped, droppedNotice).WithBudget(control.ClientEventBytes, eventSize), total: &c.dropped}
	for _, f := range []struct {
		subject string
		decode  func(*nats.Msg) (supervisor.Event, error)
		records bool
	}{{c.subj.AllEvents(), eventOf, false}, {c.subj.AllRecords(), recordEventOf, true}} {
		if err := s.add(c.nc, f.subject, buffer, f.decode, f.records); err != nil {
			s.close()
			return nil, nil, fmt.Errorf("host %s: subscribe: %w", c.subj.Host, err)
		}
	}
	fctx, cancel := c.bound(ctx)
	defer cancel()
	if err := c.nc.FlushWithContext(fctx); err != nil {
		s.close()
		return nil, nil, fmt.Errorf("host %s: subscribe: %w", c.subj.Host, err)
	}
	stop := context.AfterFunc(ctx, s.close)
	return s.q.C(), func() { stop(); s.close() }, nil
}

// eventSub is one Subscribe: its NATS subscriptions feeding one queue.
type eventSub struct {
	q     *lossy.Queue[supervisor.Event]
	total *atomic.Uint64
	runs  int // the runs a records feed remembers; 0: maxRuns
	// pending bounds the NATS client's queue in front of each
	// subscription; 0: SubscriptionPendingBytes.
	pending int

	mu     sync.Mutex
	subs   []*nats.Subscription
	closed bool
}

func (s *eventSub) add(nc *nats.Conn, subject string, buffer int, decode func(*nats.Msg) (supervisor.Event, error), records bool) error {
	f := &feed{q: s.q, total: s.total, decode: decode, runs: cmp.Or(s.runs, maxRuns)}
	if records {
		f.sent, f.gathered = map[string]uint64{}, &gather{}
	}
	sub, err := nc.Subscribe(subject, f.handle)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.subs = append(s.subs, sub)
	s.mu.Unlock()
	if err := sub.SetPendingLimits(max(buffer, minPendingMsgs), cmp.Or(s.pending, SubscriptionPendingBytes)); err != nil {
		return err
	}
	// A subscription ends with its connection too: the channel must close
	// then, as after cancel.
	sub.SetClosedHandler(func(string) { s.close() })
	if !sub.IsValid() {
		s.close()
	}
	return nil
}

// close ends every subscription and closes the channel; it may be called
// any number of times, from any goroutine, the subscriptions' own included.
func (s *eventSub) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	subs := s.subs
	s.mu.Unlock()
	for _, sub := range subs {
		_ = sub.Unsubscribe()
	}
	s.q.Close()
}

// feed turns one subscription's messages into events. handle runs on the
// subscription's one goroutine, so seen needs no lock.
type feed struct {
	q      *lossy.Queue[supervisor.Event]
	total  *atomic.Uint64
	decode func(*nats.Msg) (supervisor.Event, error)
	seen   int // messages the NATS client dropped, as last read
	// sent is, for records, the last message id counter seen of each of a
	// host's runs: the link sends again what was not acknowledged, and
	// the core subject, unlike the stream, does not drop the copies.
	sent map[string]uint64
	runs int // bounds sent
	// gathered holds, for records, those that came while more waited
	// behind them, to pass on as one event per instance.
	gathered *gather
}

// maxRuns bounds the runs whose last record a subscription of one host
// remembers; a fleet's remembers more (eventSub.runs), a few per host.
const maxRuns = 16

// resent reports whether m is a record this subscription has passed on
// already: its id is <host>.<run>.<n>, n growing within a run.
func (f *feed) resent(m *nats.Msg) bool {
	if f.sent == nil || m.Header == nil {
		return false
	}
	id := m.Header.Get(nats.MsgIdHdr)
	i := strings.LastIndexByte(id, '.')
	if i < 0 {
		return false
	}
	n, err := strconv.ParseUint(id[i+1:], 10, 64)
	if err != nil {
		return false
	}
	run := id[:i]
	if last, ok := f.sent[run]; ok && n <= last {
		return true
	}
	if _, ok := f.sent[run]; !ok && len(f.sent) >= f.runs {
		clear(f.sent) // old runs: forgetting them costs at most a repeat
	}
	f.sent[run] = n
	return false
}

func (f *feed) handle(m *nats.Msg) {
	f.take(m)
	if g := f.gathered; g != nil && g.held() && (g.overdue() || drained(m)) {
		f.flush()
	}
}

// take passes m on, or, for a record, gathers it with the records of its
// instance that came before it and have not been passed on yet.
func (f *feed) take(m *nats.Msg) {
	if strings.HasSuffix(m.Subject, "."+probeToken) {
		return // `plugvisor check` learning whether it may publish: no event
	}
	if f.resent(m) {
		return
	}
	ev, err := f.decode(m)
	if errors.Is(err, errNotPicked) {
		return // a fleet's subscription to a host it does not select
	}
	if err != nil {
		ev = supervisor.Event{Time: time.Now()}
	}
	if d, derr := m.Sub.Dropped(); derr == nil && d > f.seen {
		f.flush() // what was gathered came before the loss
		f.lose(uint64(d-f.seen), ev)
		f.seen = d
	}
	switch {
	case err != nil:
		f.flush()
		f.lose(1, ev)
	case ev.Type == supervisor.EventDropped:
		// The host's own drops join ours in one notice rather than being
		// passed on as an event that could itself be lost.
		f.flush()
		f.q.Lost(ev.Dropped, ev)
	case f.gathered != nil && ev.Type == supervisor.EventRecords:
		if f.gathered.add(ev) { // handle passes it on when nothing waits behind it
			f.flush()
		}
	default:
		f.flush()
		f.q.Send(ev)
	}
}

// drained reports whether no message waits behind m in its subscription's
// queue, so nothing held back for m's company should wait longer. The NATS
// client counts the message being handled as pending until its handler
// returns.
func drained(m *nats.Msg) bool {
	n, _, err := m.Sub.Pending()
	return err != nil || n <= 1
}

// flush passes on what was gathered, in the order it came.
func (f *feed) flush() {
	if f.gathered == nil || !f.gathered.held() {
		return
	}
	for _, ev := range f.gathered.take() {
		f.q.Send(ev)
	}
}

// lose counts n events lost here, before the queue, and tells of them.
func (f *feed) lose(n uint64, next supervisor.Event) {
	f.total.Add(n)
	f.q.Lost(n, next)
}

// errNotPicked is a message a subscription's decoder passes over, not
// counting it as lost.
var errNotPicked = errors.New("not picked")

func eventOf(m *nats.Msg) (supervisor.Event, error) { return DecodeEvent(m.Data) }

// recordEventOf is a record message as the event the engine's bus carries
// for it: a batch of one.
func recordEventOf(m *nats.Msg) (supervisor.Event, error) {
	plugin, instance, rec, err := DecodeRecord(m)
	if err != nil {
		return supervisor.Event{}, err
	}
	return supervisor.Event{Type: supervisor.EventRecords, Time: time.Unix(0, rec.Timestamp), Plugin: plugin,
		Instance: instance, Records: []protocol.Record{rec}}, nil
}

func eventSize(e supervisor.Event) int64 { return e.Size() }

func droppedNotice(n uint64, next supervisor.Event) supervisor.Event {
	return supervisor.Event{Type: supervisor.EventDropped, Time: next.Time, Dropped: n}
}
