package fleet

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/plugvisor/plugvisor/internal/spool"
)

// publisher sends the spool's records to JetStream in order, at most
// window bytes unacknowledged. The window counts every record published
// and not yet answered (acked, refused or timed out), whatever the pass it
// was sent in: a rewind does not make nats.go forget what it holds. An
// error on any record in flight (the connection lost, an ack that did not
// come, the stream missing) rewinds to the oldest unacknowledged record
// and sends everything from there again: the message ids make the stream
// drop what it already has, so the stream holds each record once and in
// push order. The spool is emptied only by acknowledgements, so what was
// in flight when plugvisor stops is still in a spool file for the next
// run.
type publisher struct {
	js     jetstream.JetStream
	nc     *nats.Conn
	spool  *spool.Spool
	window int
	log    *slog.Logger
	stats  *stats

	batch []spool.Item

	// signal wakes the run loop when outcomes wait in outcomes (under mu).
	signal chan struct{}
	// noStream asks for the stream to be looked for again: a record found
	// none.
	noStream chan struct{}
	spare    []ackResult

	mu sync.Mutex
	// inflight is every message published and not yet answered, of any
	// pass; only the current pass's answers become outcomes.
	inflight map[*nats.Msg]flight
	gen      uint64
	outcomes []ackResult // acks and errors not yet taken by the run loop
	// curBytes and oldBytes are the blob bytes in inflight of the current
	// pass and of the earlier ones.
	curBytes, oldBytes int

	queue []pending // the current pass's records not yet let go, in seq order
	bytes int       // their blob bytes (written by the run loop under mu)
	sent  uint64    // the last seq sent in this pass
	// maxSent is the last seq ever sent: a seq at or below it is a resend.
	maxSent uint64
	acked   uint64 // every seq up to here is stored
}

type pending struct {
	seq   uint64
	bytes int
	done  bool
	lost  bool // dropped unsent: done, but not acknowledged
}

// flight is one message awaiting its answer.
type flight struct {
	seq, gen uint64
	bytes    int
}

type ackResult struct {
	seq uint64
	gen uint64
	err error
}

// ackTimeout is how long a record may wait for its ack before the pass is
// rewound: long enough for a loaded server, short enough that a lost ack
// costs seconds of delay, never records.
const ackTimeout = 5 * time.Second

// retryPause is how long a pass waits after an error that was not a lost
// connection (no stream, permission refused) before sending again.
const retryPause = time.Second

// maxBatch bounds how many records one read of the spool takes.
const maxBatch = 256

func newPublisher(nc *nats.Conn, sp *spool.Spool, window int, log *slog.Logger, st *stats) (*publisher, error) {
	p := &publisher{nc: nc, spool: sp, window: window, log: log, stats: st,
		signal: make(chan struct{}, 1), noStream: make(chan struct{}, 1), inflight: map[*nats.Msg]flight{}}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncTimeout(ackTimeout),
		jetstream.WithPublishAsyncMaxPending(1<<20), // the window in bytes is the bound
		jetstream.WithPublishAsyncAckHandler(func(_ jetstream.JetStream, m *nats.Msg, _ *jetstream.PubAck) { p.done(m, nil) }),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) { p.done(m, err) }),
	)
	if err != nil {
		return nil, err
	}
	p.js = js
	return p, nil
}

// done is called on nats.go's goroutines, some holding its publisher's
// lock: it must never wait, so the outcome is queued (at most one a
// message in flight) and the run loop signalled. A message of an earlier
// pass only gives its bytes back to the window.
func (p *publisher) done(m *nats.Msg, err error) {
	p.mu.Lock()
	f, ok := p.inflight[m]
	if ok {
		delete(p.inflight, m)
		if f.gen == p.gen {
			p.curBytes -= f.bytes
			p.outcomes = append(p.outcomes, ackResult{seq: f.seq, gen: f.gen, err: err})
		} else {
			p.oldBytes -= f.bytes
		}
	}
	p.mu.Unlock()
	if ok {
		select {
		case p.signal <- struct{}{}:
		default:
		}
	}
}

// run publishes until ctx ends, once the stream has been looked for
// (looked is closed then): records sent while the stream is being created
// would only be sent again.
func (p *publisher) run(ctx context.Context, looked <-chan struct{}) {
	select {
	case <-looked:
	case <-ctx.Done():
		return
	}
	connected := p.nc.StatusChanged(nats.CONNECTED)
	defer p.nc.RemoveStatusListener(connected)
	var pause <-chan time.Time
	for {
		more := false
		if pause == nil && p.nc.IsConnected() && p.held() < p.window {
			var err error
			if more, err = p.fillBatch(); err != nil {
				p.rewind(err)
				pause, more = p.pauseFor(err), false
			}
		}
		if more { // acks are taken between batches, never after a window's worth
			select {
			case <-ctx.Done():
				return
			case <-p.signal:
				pause = p.settleAll(pause)
			default:
			}
			continue
		}
		// The spool's signal matters only when a record could go now.
		ready := p.spool.Ready()
		if pause != nil || p.held() >= p.window || !p.nc.IsConnected() {
			ready = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-ready:
		case <-p.signal:
			pause = p.settleAll(pause)
		case <-connected:
			// Whatever the old connection had in flight may be lost: send
			// it again before anything newer, whether or not its errors
			// have come.
			p.rewind(nats.ErrDisconnected)
			pause = nil
		case <-pause:
			pause = nil
		}
	}
}

// settleAll takes the outcomes queued so far; an error of the current pass
// rewinds it, and the pause before the next says how long to wait.
func (p *publisher) settleAll(pause <-chan time.Time) <-chan time.Time {
	p.mu.Lock()
	outcomes := p.outcomes
	p.outcomes = p.spare[:0]
	gen := p.gen
	p.mu.Unlock()
	for _, r := range outcomes {
		if r.gen != gen {
			continue
		}
		if r.err != nil {
			p.rewind(r.err)
			gen = p.genNow()
			pause = p.pauseFor(r.err)
			continue
		}
		p.settle(r)
	}
	p.spare = outcomes[:0]
	return pause
}

// fillBatch sends one batch of spooled records after the last one sent, as
// far as the window has room; more says another batch may be waiting.
func (p *publisher) fillBatch() (more bool, err error) {
	p.batch = p.spool.Next(p.batch[:0], p.sent, maxBatch, p.window-p.held())
	for _, it := range p.batch {
		if err := p.send(it); err != nil {
			return false, err
		}
	}
	return len(p.batch) == maxBatch && p.held() < p.window, nil
}

// held is the bytes the window holds: the current pass's records not yet
// let go (acknowledged behind one that is not, or awaiting their answer)
// and the earlier passes' records still awaiting theirs.
func (p *publisher) held() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bytes + p.oldBytes
}

func (p *publisher) send(it spool.Item) error {
	m, err := message(it.Data)
	if err != nil {
		// A blob the spool kept intact cannot be corrupt; if one is, it is
		// dropped and counted rather than stopping every record after it.
		if it.Seq > p.maxSent { // once, not at every rewind
			p.log.Error("fleet: spooled record unreadable; dropped", "seq", it.Seq, "err", err)
			p.stats.dropped.Add(1)
			p.stats.droppedBytes.Add(uint64(len(it.Data)))
			p.maxSent = it.Seq
		}
		p.queue = append(p.queue, pending{seq: it.Seq, done: true, lost: true})
		p.sent = it.Seq
		p.advance()
		return nil
	}
	p.mu.Lock()
	p.inflight[m] = flight{seq: it.Seq, gen: p.gen, bytes: len(it.Data)}
	p.curBytes += len(it.Data)
	p.mu.Unlock()
	// nats.go would resend a record that found no stream on its own,
	// after those sent since: out of order. The pass is rewound instead.
	if _, err := p.js.PublishMsgAsync(m, jetstream.WithRetryAttempts(0)); err != nil {
		p.mu.Lock()
		if _, ok := p.inflight[m]; ok { // an error callback may have come first
			delete(p.inflight, m)
			p.curBytes -= len(it.Data)
		}
		p.mu.Unlock()
		return err
	}
	if it.Seq <= p.maxSent {
		p.stats.retried.Add(1)
	} else {
		p.stats.published.Add(1)
		p.maxSent = it.Seq
	}
	p.queue = append(p.queue, pending{seq: it.Seq, bytes: len(it.Data)})
	p.mu.Lock()
	p.bytes += len(it.Data)
	p.mu.Unlock()
	p.sent = it.Seq
	return nil
}

// settle marks one record stored and lets the spool go of the stored
// prefix.
func (p *publisher) settle(r ackResult) {
	// The queue is in seq order: a window of thousands is searched, not
	// walked, for each ack.
	if i, ok := slices.BinarySearchFunc(p.queue, r.seq, func(q pending, seq uint64) int { return cmp.Compare(q.seq, seq) }); ok {
		p.queue[i].done = true
	}
	p.advance()
}

// advance lets the spool go of the prefix of the pass that is stored, and
// counts those records acknowledged, each once.
func (p *publisher) advance() {
	n, stored, freed := 0, 0, 0
	for n < len(p.queue) && p.queue[n].done {
		freed += p.queue[n].bytes
		p.acked = p.queue[n].seq
		if !p.queue[n].lost {
			stored++
		}
		n++
	}
	if n > 0 {
		p.mu.Lock()
		p.bytes -= freed
		p.mu.Unlock()
		p.stats.acked.Add(uint64(stored))
		// Resliced, not copied: append moves what is left when it grows,
		// so each entry is copied a bounded number of times.
		p.queue = p.queue[n:]
		p.spool.Ack(p.acked)
	}
}

// rewind forgets the pass in flight: the next fill sends again from the
// oldest record not acknowledged. Its messages still awaiting an answer
// keep their bytes in the window until it comes.
func (p *publisher) rewind(err error) {
	p.mu.Lock()
	p.gen++
	p.oldBytes += p.curBytes
	p.curBytes = 0
	p.bytes = 0
	p.mu.Unlock()
	if len(p.queue) > 0 {
		p.log.Debug("fleet: resending records not acknowledged", "from", p.acked+1, "records", len(p.queue), "err", err)
	}
	p.queue = p.queue[:0]
	p.sent = p.acked
}

func (p *publisher) genNow() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gen
}

// pauseFor is the wait before the next pass: none for a lost connection
// (the next one starts once it is back), retryPause otherwise.
func (p *publisher) pauseFor(err error) <-chan time.Time {
	if errors.Is(err, nats.ErrDisconnected) || !p.nc.IsConnected() {
		return nil
	}
	p.stats.noteError(err)
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
		select {
		case p.noStream <- struct{}{}:
		default:
		}
	}
	return time.After(retryPause)
}
