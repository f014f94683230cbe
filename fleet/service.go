package fleet

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/plugvisor/plugvisor/control"
	"github.com/plugvisor/plugvisor/internal/clip"
	"github.com/plugvisor/plugvisor/internal/jsontext"
	"github.com/plugvisor/plugvisor/supervisor"
)

// ServiceOptions configure Serve.
type ServiceOptions struct {
	Conn     *nats.Conn
	API      supervisor.API
	Subjects Subjects
	Version  string // plugvisor's version, for micro's Info; one that is not SemVer goes as 0.0.0 (and in the description)
	// Labels are in the service's metadata as "label.<k>", beside "host"
	// and "prefix", and in info's result (InfoResult), which is what a
	// fleet trusts.
	Labels map[string]string
	Log    *slog.Logger
	// MaxRequest bounds a request's body in bytes; a bigger one gets a
	// bad_request error. Default DefaultMaxRequest.
	MaxRequest int
	// MaxResponse bounds a response in bytes: logs and history keep the
	// newest that fit (history says how many it left out), a task's
	// reply its newest records (counted in Dropped), anything else too
	// large is a result_too_large error. Default the server's max payload.
	MaxResponse int
	// Timeout bounds a request that brings no timeout of its own: start,
	// stop, restart and reload always, send and ping without one.
	// Default DefaultTimeout.
	Timeout time.Duration
	// MaxInFlight bounds the requests answered at once; one more gets a
	// too_many_requests error. Default DefaultMaxInFlight.
	MaxInFlight int
}

// Defaults of ServiceOptions.
const (
	DefaultMaxRequest  = 1 << 20
	DefaultTimeout     = 30 * time.Second
	DefaultMaxInFlight = 256
)

// ServiceName is the micro service's name: `$SRV.PING.plugvisor` finds
// every host, each saying which in its metadata's "host".
const ServiceName = "plugvisor"

// QueueGroup is the queue group of a host's endpoints. The subjects hold
// the host already, so only processes serving that host answer; the group
// is for the mistake of two processes given the same host name: each
// request then goes to one of them, so no start or stop is done twice and
// no caller gets two answers, but which one answers is the server's
// choice, and their events and records mix under the one host.
// Discovery shows the mistake: two services with one "host" and two ids.
const QueueGroup = "plugvisor"

// responseHeaders is what a response may spend on headers (an error's code
// and description) beside its body.
const responseHeaders = 8 << 10

// maxDescription bounds an error's text in its header.
const maxDescription = 4 << 10

// Serve answers the operator API of one host, o.API, as a NATS micro
// service on o.Subjects.APIGroup(), and returns once the server has its
// subscriptions. Each request runs in a goroutine of its own (a worker
// kept waiting since an earlier one, or a new one), at most MaxInFlight
// at once, with a context that ends at its timeout or when the
// service stops. stop ends the service: requests not yet taken are refused
// with a closed error, those running are cancelled, and it returns once
// they have answered; later requests find no responders. The service
// stops by itself when Conn closes; stop is still to be called.
func Serve(o ServiceOptions) (stop func() error, err error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	s := newService(o)
	svc, err := micro.AddService(o.Conn, micro.Config{
		Name:         ServiceName,
		Version:      microVersion(o.Version),
		Description:  fmt.Sprintf("plugvisor %s on %s", clip.Text(o.Version, 64), o.Subjects.Host),
		Metadata:     metadata(o.Subjects, o.Labels),
		QueueGroup:   QueueGroup,
		ErrorHandler: func(_ micro.Service, e *micro.NATSError) { s.log.Warn("fleet service", "err", e) },
		// The service stops by itself when its connection closes: what
		// runs then can answer no one.
		DoneHandler: func(micro.Service) { s.refuse() },
	})
	if err != nil {
		s.cancel()
		return nil, fmt.Errorf("fleet service for host %s: %w", o.Subjects.Host, err)
	}
	g := svc.AddGroup(o.Subjects.APIGroup(), micro.WithGroupQueueGroup(QueueGroup))
	for _, op := range Ops() {
		if err := g.AddEndpoint(op, s.handler(op)); err != nil {
			_ = svc.Stop()
			s.refuse()
			return nil, fmt.Errorf("fleet service for host %s: endpoint %s: %w", o.Subjects.Host, op, err)
		}
	}
	presence, err := answerDiscovery(o.Conn, o.Subjects, o.Labels, s.log)
	if err != nil {
		_ = svc.Stop()
		s.refuse()
		return nil, fmt.Errorf("fleet service for host %s: %w", o.Subjects.Host, err)
	}
	// Once the server has the subscriptions, every caller finds the host.
	// A host that has no server yet serves from its first connection: the
	// client library sends them then.
	if err := flushIfConnected(o.Conn, 10*time.Second); err != nil {
		presence.stop()
		_ = svc.Stop()
		s.refuse()
		return nil, fmt.Errorf("fleet service for host %s: %w", o.Subjects.Host, err)
	}
	if err := refused(o.Conn.LastError(), []string{Discover(o.Subjects.Prefix)}); err != nil {
		// An older generated config: the host is still found by
		// `$SRV.PING`, but a flood of forged answers can hide it.
		s.log.Warn("fleet presence off: the server refuses the discovery subject (regenerate the config with plugvisor fleet nats-config)", "err", err)
	}
	return sync.OnceValue(func() error {
		s.refuse()
		presence.stop()
		err := svc.Stop()
		// Once the server has the unsubscriptions, a request finds no
		// responders rather than a service on its way out.
		_ = flushIfConnected(o.Conn, 5*time.Second)
		s.running.Wait()
		s.workers.Wait() // the idle ones see the service's context end
		if err != nil {
			return fmt.Errorf("stop fleet service for host %s: %w", o.Subjects.Host, err)
		}
		return nil
	}), nil
}

func flushIfConnected(nc *nats.Conn, d time.Duration) error {
	if !nc.IsConnected() {
		return nil
	}
	return nc.FlushTimeout(d)
}

func (o *ServiceOptions) check() error {
	switch {
	case o.Conn == nil:
		return errors.New("fleet service: no NATS connection")
	case o.API == nil:
		return errors.New("fleet service: no API to serve")
	case o.Subjects.Prefix == "" || o.Subjects.Host == "":
		return fmt.Errorf("fleet service: subjects need a prefix and a host (prefix %q, host %q)", o.Subjects.Prefix, o.Subjects.Host)
	case !validToken(o.Subjects.Host):
		return fmt.Errorf("fleet service: host %q is not a subject token ([A-Za-z0-9_-], at most %d bytes)", o.Subjects.Host, maxToken)
	case o.MaxRequest < 0 || o.MaxResponse < 0 || o.Timeout < 0 || o.MaxInFlight < 0:
		return errors.New("fleet service: a negative bound")
	}
	return nil
}

// metadata is what a discovery answer says of the host: its name, its
// prefix (hosts of every prefix answer `$SRV.PING.plugvisor`) and labels.
func metadata(subj Subjects, labels map[string]string) map[string]string {
	m := make(map[string]string, len(labels)+2)
	for k, v := range labels {
		m["label."+k] = v
	}
	m["host"], m["prefix"] = subj.Host, subj.Prefix
	return m
}

// PresenceMessage is what a host publishes on its Presence subject when a
// fleet asks on Discover: the subject's host and prefix again, so a
// message that is not one (`plugvisor check`'s empty probe) is told
// apart, and its labels, which a fleet's selector reads before asking
// the host. The subject is what only the host may publish; the labels a
// fleet keeps are still those of the host's info.
type PresenceMessage struct {
	Host   string            `json:"host"`
	Prefix string            `json:"prefix"`
	Labels map[string]string `json:"labels,omitempty"`
}

// maxPresence bounds a presence message's bytes as a fleet reads it: a
// host's labels as the fleet keeps them (maxHostLabels of
// maxHostLabelBytes each way) fit, with room.
const maxPresence = 16 << 10

// presenceEvery is how often at most a host gives its presence: every
// operator may call for it, as often as it likes, and each presence
// reaches every fleet listening. A call within presenceEvery of the last
// presence is answered at its end, so every call has a presence after it
// within presenceEvery, well inside a round's DefaultDiscoverWait.
const presenceEvery = 100 * time.Millisecond

// discoverPending bounds the calls for presence a host keeps unread: any
// one of them is answered like all, so beyond a few they are dropped (and
// counted by the subscription).
const discoverPending = 64

// presence answers the fleets' calls for a host's presence, at most once
// per presenceEvery.
type presence struct {
	nc      *nats.Conn
	subject string
	body    []byte
	log     *slog.Logger

	mu      sync.Mutex
	last    time.Time   // when the last presence was given
	later   *time.Timer // the presence due at last+presenceEvery, if one is
	stopped bool
	sub     *nats.Subscription
}

// answerDiscovery subscribes to the fleet's call for presence and answers
// on the host's own presence subject.
func answerDiscovery(nc *nats.Conn, subj Subjects, labels map[string]string, log *slog.Logger) (*presence, error) {
	body, err := json.Marshal(PresenceMessage{Host: subj.Host, Prefix: subj.Prefix, Labels: boundLabels(labels)})
	if err != nil {
		return nil, fmt.Errorf("presence: %w", err)
	}
	p := &presence{nc: nc, subject: subj.Presence(), body: body, log: log}
	p.sub, err = nc.Subscribe(Discover(subj.Prefix), func(*nats.Msg) { p.called() })
	if err != nil {
		return nil, fmt.Errorf("subscribe to %s: %w", Discover(subj.Prefix), err)
	}
	_ = p.sub.SetPendingLimits(discoverPending, discoverPending*1024)
	return p, nil
}

// called gives the presence now, or at the end of presenceEvery since the
// last one, once however many calls come meanwhile.
func (p *presence) called() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || p.later != nil {
		return
	}
	if wait := presenceEvery - time.Since(p.last); !p.last.IsZero() && wait > 0 {
		p.later = time.AfterFunc(wait, p.due)
		return
	}
	p.giveLocked()
}

func (p *presence) due() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.later = nil
	if !p.stopped {
		p.giveLocked()
	}
}

func (p *presence) giveLocked() {
	p.last = time.Now()
	if err := p.nc.Publish(p.subject, p.body); err != nil {
		p.log.Debug("fleet presence not sent", "err", err)
	}
}

// stop ends the answers, the one due too.
func (p *presence) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	if p.later != nil {
		p.later.Stop()
		p.later = nil
	}
	_ = p.sub.Unsubscribe()
}

// semVer is the SemVer 2.0 grammar micro requires of a version.
var semVer = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)
})

// microVersion is v as micro takes it: a Go module version loses its "v";
// a development build ("(devel)", "") is 0.0.0.
func microVersion(v string) string {
	if v = strings.TrimPrefix(v, "v"); semVer().MatchString(v) {
		return v
	}
	return "0.0.0"
}

// service is the state of one Serve.
type service struct {
	api        supervisor.API
	labels     map[string]string
	nc         *nats.Conn
	host       string
	log        *slog.Logger
	maxRequest int
	room       int // bytes a response's body may take
	timeout    time.Duration
	ctx        context.Context // ends when the service stops
	cancel     context.CancelFunc
	slots      chan struct{}
	fields     sync.Pool // of *jsontext.Fields, for tasks' replies
	mu         sync.Mutex
	closed     bool
	running    sync.WaitGroup // requests taken and not yet answered
	jobs       chan job       // to an idle worker
	idle       atomic.Int32   // workers waiting on jobs
	workers    sync.WaitGroup
}

func newService(o ServiceOptions) *service {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("host", o.Subjects.Host)
	maxResponse := o.MaxResponse
	if maxResponse == 0 {
		maxResponse = int(o.Conn.MaxPayload())
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &service{
		api: o.API, labels: maps.Clone(o.Labels), nc: o.Conn, host: o.Subjects.Host, log: log,
		maxRequest: cmp.Or(o.MaxRequest, DefaultMaxRequest),
		room:       max(maxResponse-responseHeaders, 4<<10),
		timeout:    cmp.Or(o.Timeout, DefaultTimeout),
		ctx:        ctx, cancel: cancel,
		slots:  make(chan struct{}, cmp.Or(o.MaxInFlight, DefaultMaxInFlight)),
		fields: sync.Pool{New: func() any { return new(jsontext.Fields) }},
		jobs:   make(chan job),
	}
}

// handler takes a request off the subscription's goroutine, which must
// not wait for a start or a task: it runs in its own, or is refused at
// once. The response is published on the request's reply subject by the
// goroutine itself, with micro's error headers: micro's Request keeps
// state its own handler reads once the handler returns, so it is used
// only there.
func (s *service) handler(op string) micro.Handler {
	return micro.HandlerFunc(func(req micro.Request) {
		reply, body := req.Reply(), req.Data()
		if !strings.HasPrefix(reply, "_INBOX") {
			// A reply aimed anywhere but an inbox (a host's record subject,
			// another service) would have this host publish there: the
			// request is not served at all.
			s.log.Debug("fleet request refused: its reply is not an inbox", "op", op, "reply", clip.Text(reply, 128))
			return
		}
		if n := len(body); n > s.maxRequest {
			s.fail(reply, op, badRequest("%s: request of %d bytes, at most %d", op, n, s.maxRequest), nil)
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			s.fail(reply, op, s.stopping(), nil)
			return
		}
		select {
		case s.slots <- struct{}{}:
		default:
			s.mu.Unlock()
			s.fail(reply, op, &control.Error{Code: control.CodeTooManyRequests,
				Message: fmt.Sprintf("%s: %d requests in flight already", op, cap(s.slots))}, nil)
			return
		}
		s.running.Add(1)
		s.mu.Unlock()
		j := job{op: op, reply: reply, body: body}
		select {
		case s.jobs <- j: // an idle worker took it
		default:
			s.workers.Add(1)
			go s.work(j)
		}
	})
}

// job is a request taken, holding a slot, for a worker to serve.
type job struct {
	op, reply string
	body      []byte
}

// maxIdleWorkers bounds the workers kept waiting for the next request.
// A worker kept has grown its stack already: a fresh goroutine per task
// grew it twice on the way to the plugin, a cost the profile showed.
const maxIdleWorkers = 8

// work serves j, then the requests given it while it waits, as long as
// few others wait too and the service runs.
func (s *service) work(j job) {
	defer s.workers.Done()
	for {
		s.serve(j.op, j.reply, j.body)
		<-s.slots
		s.running.Done()
		if s.idle.Add(1) > maxIdleWorkers {
			s.idle.Add(-1)
			return
		}
		select {
		case j = <-s.jobs:
			s.idle.Add(-1)
		case <-s.ctx.Done():
			s.idle.Add(-1)
			return
		}
	}
}

// refuse makes every request from now on get a closed error, and cancels
// those running.
func (s *service) refuse() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
}

func (s *service) stopping() error {
	return &control.Error{Code: control.CodeClosed, Message: fmt.Sprintf("host %s: the fleet service is stopping", s.host)}
}

// within is a context of the service bounded by d, or by the default
// timeout when d is 0.
func (s *service) within(d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		d = s.timeout
	}
	// A caller's timeout holds one of the bounded slots as long as it
	// asks: a year's would hold it until the host restarts.
	return context.WithTimeout(s.ctx, min(d, MaxRequestTimeout))
}

// MaxRequestTimeout bounds the timeout a request may bring.
const MaxRequestTimeout = 10 * time.Minute

// serve answers one request.
func (s *service) serve(op, reply string, body []byte) {
	out, err := s.do(op, body)
	if err != nil {
		s.fail(reply, op, err, out)
		return
	}
	if len(out) > s.room {
		s.fail(reply, op, &control.Error{Code: control.CodeResultTooLarge,
			Message: fmt.Sprintf("%s: result of %d bytes, at most %d in a response", op, len(out), s.room)}, nil)
		return
	}
	s.publish(reply, op, nil, out)
}

// fail answers with err's code and message, and body (a task's reply).
func (s *service) fail(reply, op string, err error, body []byte) {
	if errors.Is(err, context.Canceled) && s.ctx.Err() != nil {
		err = s.stopping() // not the caller's cancel: ours
	}
	e := control.WireError(err)
	desc := description(e)
	s.log.Debug("fleet request failed", "op", op, "code", e.Code, "err", desc)
	s.publish(reply, op, nats.Header{micro.ErrorHeader: {desc}, micro.ErrorCodeHeader: {string(e.Code)}}, body)
}

// publish sends a response; a request published without a reply subject
// is carried out and not answered.
func (s *service) publish(reply, op string, hdr nats.Header, body []byte) {
	if reply == "" {
		return
	}
	if err := s.nc.PublishMsg(&nats.Msg{Subject: reply, Header: hdr, Data: body}); err != nil {
		s.log.Debug("fleet response not sent", "op", op, "err", err)
	}
}

// description is an error's message as a header holds it: one line,
// bounded, never empty.
func description(e *control.Error) string {
	d := strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, e.Message)
	if d = clip.Text(d, maxDescription); d == "" {
		d = string(e.Code)
	}
	return d
}

func badRequest(format string, args ...any) *control.Error {
	return &control.Error{Code: control.CodeBadRequest, Message: fmt.Sprintf(format, args...)}
}

// do runs op and returns its result's JSON; with an error, what goes with
// it (a task's reply).
func (s *service) do(op string, body []byte) ([]byte, error) {
	switch op {
	case OpInfo, OpStatus, OpReload:
		if err := decode(op, body, &struct{}{}); err != nil {
			return nil, err
		}
		ctx, cancel := s.within(0)
		defer cancel()
		switch op {
		case OpInfo:
			in, err := s.api.Info(ctx)
			return result(InfoResult{Info: in, Labels: s.labels}, err)
		case OpStatus:
			return result(s.api.Snapshot(ctx))
		}
		return done(s.api.Reload(ctx))
	case OpStart, OpStop, OpRestart:
		return s.lifecycle(op, body)
	case OpSend:
		return s.send(body)
	case OpPing:
		return s.ping(body)
	case OpLogs:
		return s.logs(body)
	case OpHistory:
		return s.history(body)
	}
	return nil, &control.Error{Code: control.CodeUnknownOp, Message: fmt.Sprintf("unknown op %q", op)}
}

func (s *service) lifecycle(op string, body []byte) ([]byte, error) {
	var r NameRequest
	if err := decodeNamed(op, body, &r, &r.Name); err != nil {
		return nil, err
	}
	ctx, cancel := s.within(0)
	defer cancel()
	switch op {
	case OpStart:
		return done(s.api.Start(ctx, r.Name))
	case OpStop:
		return done(s.api.Stop(ctx, r.Name))
	}
	return done(s.api.Restart(ctx, r.Name))
}

func (s *service) send(body []byte) ([]byte, error) {
	var r SendRequest
	if err := decodeSendRequest(body, &r); err != nil {
		return nil, err
	}
	if r.Plugin == "" {
		return nil, badRequest("send: plugin is required")
	}
	d, err := parseTimeout(r.Timeout)
	if err != nil {
		return nil, badRequest("send: %v", err)
	}
	ctx, cancel := s.within(d)
	defer cancel()
	reply, err := s.api.SendTask(ctx, supervisor.TaskRequest{Plugin: r.Plugin, ID: r.ID, Content: r.Content, Token: r.Token})
	// The reply goes with an error too: its token and outcome are what
	// the caller acts on.
	fields := s.fields.Get().(*jsontext.Fields)
	defer s.fields.Put(fields)
	return fitReply(reply, s.room, fields), err
}

func (s *service) ping(body []byte) ([]byte, error) {
	var r PingRequest
	if err := decodeNamed(OpPing, body, &r, &r.Name); err != nil {
		return nil, err
	}
	d, err := parseTimeout(r.Timeout)
	if err != nil {
		return nil, badRequest("ping: %v", err)
	}
	ctx, cancel := s.within(d)
	defer cancel()
	rtt, err := s.api.Ping(ctx, r.Name)
	if err != nil {
		return nil, err
	}
	return result(PingResult{RTT: rtt}, nil)
}

func (s *service) logs(body []byte) ([]byte, error) {
	var r LogsRequest
	if err := decodeNamed(OpLogs, body, &r, &r.Name); err != nil {
		return nil, err
	}
	if r.N < 0 {
		return nil, badRequest("logs: n %d is negative", r.N)
	}
	ctx, cancel := s.within(0)
	defer cancel()
	lines, err := s.api.Logs(ctx, r.Name, r.N)
	if err != nil {
		return nil, err
	}
	out, omitted, err := fitNewest(lines, s.room)
	if omitted > 0 {
		s.log.Debug("fleet logs result cut to fit a response", "name", r.Name, "lines", len(lines), "kept", len(lines)-omitted)
	}
	return out, err
}

func (s *service) history(body []byte) ([]byte, error) {
	var q supervisor.HistoryQuery
	if err := decode(OpHistory, body, &q); err != nil {
		return nil, err
	}
	if err := q.Check(); err != nil {
		return nil, &control.Error{Code: control.CodeBadRequest, Message: err.Error()}
	}
	ctx, cancel := s.within(0)
	defer cancel()
	events, err := s.api.History(ctx, q)
	if err != nil {
		return nil, err
	}
	out, omitted, err := fitHistory(events, s.room)
	if omitted > 0 {
		s.log.Debug("fleet history result cut to fit a response", "plugin", q.Plugin, "events", len(events), "kept", len(events)-omitted)
	}
	return out, err
}
