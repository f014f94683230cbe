package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugvisor/plugvisor/internal/clip"
	"github.com/plugvisor/plugvisor/internal/latest"
	"github.com/plugvisor/plugvisor/protocol"
)

// errDisconnected is a connection closed by the plugin without goodbye:
// usually a crash whose exit status is about to arrive.
var errDisconnected = errors.New("disconnected")

// errUnexpected is a well-formed message the plugin must not send, such as
// a task: a protocol error the decoder cannot see, since it decodes both
// directions.
var errUnexpected = errors.New("protocol: unexpected message")

// maxPeerText bounds what a plugin's own words (goodbye.reason, a reject's
// reason quoting it) may take in a status, an exit or a log line
// (PROTOCOL.md, section 10).
const maxPeerText = 512

// maxInFlight bounds the tasks waiting for replies on one connection.
const maxInFlight = 4096

// session is one authenticated connection of one plugin instance: a read
// loop that turns frames into events and resolves tasks, and a ping loop that
// proves the plugin alive.
type session struct {
	conn      *protocol.Conn
	name      string
	instance  string
	hello     *protocol.Hello
	proto     uint16
	heartbeat time.Duration
	hbTimeout time.Duration
	bus       *bus
	rtts      *rttRing
	tokens    *Tokens
	beats     *heartbeats   // what tells pingLoop, on pingDue, to ping
	pingDue   chan struct{} // capacity 1

	mu      sync.Mutex
	pending map[string]*pendingTask
	expiry  expiries // the pending tasks by deadline
	pings   map[uint64]chan time.Duration
	closed  bool
	// Reply bytes: the budget of one task and of all, and what the
	// pending tasks hold (guarded by mu).
	replyTask, replyAll, replyHeld int64

	pingSeq  atomic.Uint64
	lastHB   atomic.Int64 // unix ns of the last pong
	hbRTT    atomic.Int64
	goodbye  atomic.Pointer[string]
	writeErr atomic.Pointer[error]     // the write that broke the session, if any
	pongs    latest.Box[protocol.Pong] // the latest ping to answer, for the pong loop
	answered atomic.Uint64
	failed   atomic.Uint64
	timedOut atomic.Uint64
	sent     atomic.Uint64
	// Progress records not kept for a reply, over a budget.
	replyDropped, replyDroppedBytes atomic.Uint64

	done chan struct{}
	err  error // why the session ended; read after done
}

type pendingTask struct {
	task     protocol.Task
	sent     time.Time
	timeout  time.Duration
	deadline time.Time // sent + timeout
	slot     int       // in the session's expiries; -1 when out
	records  []protocol.Record
	bytes    int64 // what records hold, by RecordSize
	dropped  int   // progress records beyond a budget, not kept
	dropB    int64 // their bytes
	done     chan struct{}
	reply    Reply
	err      error
}

// run serves the session until the connection ends and returns why.
func (s *session) run() {
	stop := make(chan struct{})
	s.pingDue = make(chan struct{}, 1)
	leave := s.beats.join(s, s.heartbeat)
	go s.pingLoop(stop)
	go s.pongLoop(stop)
	s.err = s.readLoop()
	leave()
	close(stop)
	s.conn.Close()
	s.failPending(ErrPluginGone)
	close(s.done)
}

func (s *session) readLoop() error {
	for {
		m, err := s.conn.Recv()
		if err != nil {
			return s.readError(err)
		}
		switch m := m.(type) {
		case *protocol.Data:
			s.onData(m)
		case *protocol.Ping:
			s.answer(m)
		case *protocol.Pong:
			s.onPong(m)
		case *protocol.Goodbye:
			// It becomes the state's reason and the exit's, shown and
			// logged: bounded like every text a plugin sends.
			reason := clip.Text(m.Reason, maxPeerText)
			s.goodbye.Store(&reason)
		default:
			return fmt.Errorf("%w: %s from plugin after registration", errUnexpected, m.Kind())
		}
	}
}

func (s *session) readError(err error) error {
	if w := s.writeErr.Load(); w != nil {
		return fmt.Errorf("writing to the plugin failed: %w", *w)
	}
	switch {
	case protocol.IsTimeout(err):
		return fmt.Errorf("hung: no frame for %s (heartbeat timeout)", s.hbTimeout)
	case errors.Is(err, io.EOF):
		if g := s.goodbye.Load(); g != nil {
			return fmt.Errorf("left: %s", *g)
		}
		return errDisconnected
	}
	return err
}

func (s *session) onData(d *protocol.Data) {
	now := time.Now()
	s.bus.publishRecords(Event{Type: EventRecords, Time: now, Plugin: s.name, Instance: s.instance, Records: d.Records}, s.conn.LastFrameSize())
	for i := range d.Records {
		if d.Records[i].Token != "" {
			s.onReply(&d.Records[i], now)
		}
	}
}

func (s *session) onReply(rec *protocol.Record, now time.Time) {
	s.mu.Lock()
	p := s.pending[rec.Token]
	if p == nil || now.Before(p.sent) {
		// A late reply to a task that timed out: it stays in the record
		// stream only. Read before p was sent, it is the late reply of an
		// earlier task whose token the caller chose again, not p's.
		s.mu.Unlock()
		return
	}
	status, final := rec.Fields[protocol.FieldTaskStatus]
	s.keepLocked(p, rec, final)
	if final {
		s.forgetLocked(p)
	}
	s.mu.Unlock()
	if !final {
		return
	}
	outcome := OutcomeAnswered
	if status == protocol.StatusOK {
		s.answered.Add(1)
	} else {
		outcome = OutcomeError
		s.failed.Add(1)
	}
	p.reply = s.ended(p, outcome)
	p.reply.Status = status
	p.reply.Error, p.reply.RTT = rec.Fields[protocol.FieldError], now.Sub(p.sent)
	s.rtts.add(p.reply.RTT)
	close(p.done)
	s.publishTask(p, p.reply, "", now)
}

// reply is p's Reply as far as the engine knows it without the plugin.
func (s *session) reply(p *pendingTask, o Outcome) Reply {
	return Reply{Plugin: s.name, Instance: s.instance, ID: p.task.ID, Token: p.task.Token, Outcome: o}
}

// ended is the reply of a task taken out of pending, however it ended:
// with every record kept for it, so a task cut off by a timeout or by its
// plugin's end still shows the progress it made.
func (s *session) ended(p *pendingTask, o Outcome) Reply {
	r := s.reply(p, o)
	r.Records, r.Dropped, r.DroppedBytes = p.records, p.dropped, p.dropB
	return r
}

// publishTask announces p with reply r, as of at: the time its caller
// read already (when it was sent, its reply read, its end seen), so an
// event costs no reading of the clock of its own. p's task and sent time
// never change once it is pending; its reply belongs to whoever took it out
// of pending, so it is passed by value.
func (s *session) publishTask(p *pendingTask, r Reply, detail string, at time.Time) {
	s.bus.publish(Event{Type: EventTask, Time: at, Plugin: s.name, Instance: s.instance, Task: &TaskEvent{
		Sent: p.sent, ID: p.task.ID, Token: p.task.Token, Content: p.task.Content,
		Outcome: r.Outcome, Reply: r, Detail: detail,
	}})
}

// task sends one task and waits for its final reply, the timeout, ctx, or
// the end of the session. The Reply names the token and the outcome even
// when an error says why the task did not succeed.
func (s *session) task(ctx context.Context, req TaskRequest, timeout time.Duration) (Reply, error) {
	token := req.Token
	if token == "" {
		token = s.tokens.Next()
	}
	p := &pendingTask{task: protocol.Task{ID: req.ID, Content: req.Content, Token: token}, slot: -1, done: make(chan struct{})}
	if err := ctx.Err(); err != nil { // the caller gave up already: do not send
		return s.reply(p, OutcomeNotSent), err
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return s.reply(p, OutcomeNotSent), fmt.Errorf("%s: %w", s.instance, ErrNotRunning)
	case len(s.pending) >= maxInFlight:
		s.mu.Unlock()
		return s.reply(p, OutcomeNotSent), fmt.Errorf("%s: %w: %d", s.instance, ErrTooManyTasks, maxInFlight)
	case s.pending[token] != nil:
		s.mu.Unlock()
		return s.reply(p, OutcomeNotSent), fmt.Errorf("%s: %w: %q", s.instance, ErrTokenInUse, token)
	}
	s.pending[token] = p
	p.sent, p.timeout = time.Now(), timeout
	p.deadline = p.sent.Add(timeout)
	if s.expiry.fire == nil {
		s.expiry.fire = s.onExpiry
	}
	s.expiry.add(p)
	s.mu.Unlock()
	s.sent.Add(1)
	s.publishTask(p, s.reply(p, OutcomePending), "", p.sent)
	if err := s.conn.Send(&p.task); err != nil {
		mine := s.abandon(p, OutcomeNotSent, err.Error())
		if !errors.As(err, new(*protocol.Error)) { // refused before writing: the Conn is fine
			s.broken(err)
		}
		if !mine { // the session's end or the timeout took it first, and said so
			<-p.done
			return p.reply, p.err
		}
		return p.reply, fmt.Errorf("send task %d to %s: %w", req.ID, s.instance, err)
	}
	select {
	case <-p.done: // answered, timed out (see onExpiry) or the session ended
		return p.reply, p.err
	case <-ctx.Done():
		if s.abandon(p, GaveUp(ctx.Err()), ctx.Err().Error()) {
			return p.reply, ctx.Err()
		}
	}
	<-p.done // resolved while we gave up: take the result
	return p.reply, p.err
}

// onExpiry runs when the session's timer fires: it times out every task
// whose deadline has passed. A reply that crossed the timer counts as
// answered, since both take the task out of pending under mu.
func (s *session) onExpiry() {
	now := time.Now()
	s.mu.Lock()
	due := s.expiry.due(now)
	for _, p := range due {
		s.forgetLocked(p)
	}
	s.mu.Unlock()
	for _, p := range due {
		s.timedOut.Add(1)
		p.err = fmt.Errorf("%s: %w after %s (task %d, token %s)", s.instance, ErrTaskTimeout, p.timeout, p.task.ID, p.task.Token)
		p.reply = s.ended(p, OutcomeTimedOut)
		p.reply.RTT = now.Sub(p.sent)
		close(p.done)
		s.publishTask(p, p.reply, "no final reply within "+p.timeout.String(), now)
	}
}

// abandon removes p if it is still pending, ending it with outcome o, and
// reports whether it did.
func (s *session) abandon(p *pendingTask, o Outcome, why string) bool {
	s.mu.Lock()
	_, ok := s.pending[p.task.Token]
	if ok {
		s.forgetLocked(p)
	}
	s.mu.Unlock()
	if ok {
		now := time.Now()
		p.reply = s.ended(p, o)
		p.reply.RTT = now.Sub(p.sent)
		s.publishTask(p, p.reply, why, now)
	}
	return ok
}

func (s *session) failPending(err error) {
	s.mu.Lock()
	s.closed = true
	pending := s.pending
	s.pending, s.replyHeld = map[string]*pendingTask{}, 0
	s.expiry.clear()
	for _, ch := range s.pings {
		close(ch)
	}
	s.pings = map[uint64]chan time.Duration{}
	s.mu.Unlock()
	now := time.Now()
	for _, p := range pending {
		p.err = fmt.Errorf("%w (task %d)", err, p.task.ID)
		p.reply = s.ended(p, OutcomeGone)
		p.reply.RTT = now.Sub(p.sent)
		s.failed.Add(1)
		close(p.done)
		s.publishTask(p, p.reply, p.err.Error(), now)
	}
}

func (s *session) pingLoop(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-s.pingDue:
			if _, err := s.sendPing(); err != nil {
				s.broken(err)
				return
			}
		}
	}
}

// answer queues a pong for the pong loop. The read loop must never wait to
// write: if the plugin's writer holds its end while our socket buffer is
// full, a read loop blocked on a pong would stop reading, the plugin would
// block the same way, and both would sit until a timeout killed the plugin.
// Only the latest ping needs an answer: any frame proves we are alive.
func (s *session) answer(m *protocol.Ping) {
	s.pongs.Put(protocol.Pong{Seq: m.Seq, Time: m.Time})
}

func (s *session) pongLoop(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case p := <-s.pongs.C():
			if err := s.conn.Send(&p); err != nil {
				s.broken(err)
				return
			}
		}
	}
}

// broken ends a session whose writes fail: a Conn that failed a write is out
// of step for good, so nothing more can be sent to this plugin.
func (s *session) broken(err error) {
	s.writeErr.CompareAndSwap(nil, &err)
	s.conn.Close()
}

func (s *session) sendPing() (uint64, error) {
	seq := s.pingSeq.Add(1)
	return seq, s.conn.Send(&protocol.Ping{Seq: seq, Time: time.Now().UnixNano()})
}

func (s *session) onPong(m *protocol.Pong) {
	now := time.Now()
	rtt := now.Sub(time.Unix(0, m.Time))
	s.lastHB.Store(now.UnixNano())
	s.hbRTT.Store(int64(rtt))
	s.mu.Lock()
	ch := s.pings[m.Seq]
	delete(s.pings, m.Seq)
	s.mu.Unlock()
	if ch != nil {
		ch <- rtt
	}
	s.bus.publish(Event{Type: EventHeartbeat, Time: now, Plugin: s.name, Instance: s.instance, RTT: rtt})
}

// ping measures one round trip on demand.
func (s *session) ping(ctx context.Context) (time.Duration, error) {
	ch := make(chan time.Duration, 1)
	seq := s.pingSeq.Add(1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, fmt.Errorf("%s: %w", s.instance, ErrNotRunning)
	}
	s.pings[seq] = ch
	s.mu.Unlock()
	forget := func() {
		s.mu.Lock()
		delete(s.pings, seq)
		s.mu.Unlock()
	}
	if err := s.conn.Send(&protocol.Ping{Seq: seq, Time: time.Now().UnixNano()}); err != nil {
		s.broken(err)
		forget()
		return 0, fmt.Errorf("ping %s: %w", s.instance, err)
	}
	select {
	case rtt, ok := <-ch:
		if !ok {
			return 0, fmt.Errorf("ping %s: %w", s.instance, ErrPluginGone)
		}
		return rtt, nil
	case <-ctx.Done():
		forget()
		return 0, fmt.Errorf("ping %s: %w", s.instance, ctx.Err())
	}
}

// shutdown asks the plugin to leave within grace. Errors are ignored: a
// plugin that cannot hear it will be signalled instead.
func (s *session) shutdown(grace time.Duration, reason string) {
	_ = s.conn.Send(&protocol.Shutdown{Grace: grace, Reason: reason})
}

func (s *session) inFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// counters adds this session's traffic to base.
func (s *session) counters(base Counters) Counters {
	st := s.conn.Stats()
	base.FramesIn += st.FramesIn
	base.FramesOut += st.FramesOut
	base.BytesIn += st.BytesIn
	base.BytesOut += st.BytesOut
	base.RecordsIn += st.RecordsIn
	base.RecordsOut += st.RecordsOut
	base.TasksSent += s.sent.Load()
	base.TasksAnswered += s.answered.Load()
	base.TasksFailed += s.failed.Load()
	base.TasksTimedOut += s.timedOut.Load()
	base.ReplyRecordsDropped += s.replyDropped.Load()
	base.ReplyBytesDropped += s.replyDroppedBytes.Load()
	return base
}
