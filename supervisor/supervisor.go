package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugvisor/plugvisor/internal/ratelimit"
	"github.com/plugvisor/plugvisor/internal/unixsock"
	"github.com/plugvisor/plugvisor/registry"
)

// Options configure a Supervisor. Config is required.
type Options struct {
	Config *registry.Config
	// Reload re-reads the configuration for Reload() and SIGHUP; nil means
	// the configuration is fixed.
	Reload func() (*registry.Config, error)
	Logger *slog.Logger
	// WatchdogExe is re-executed as the watchdog that kills plugin process
	// groups if the supervisor dies; the program must call
	// RunWatchdogIfRequested first thing. Empty disables the watchdog.
	WatchdogExe string

	BackoffBase   time.Duration // first restart delay; default 1s
	BackoffMax    time.Duration // default 60s
	HealthyAfter  time.Duration // a run this long resets the backoff; default 10m
	TermGrace     time.Duration // SIGTERM → SIGKILL; default 2s
	StatsInterval time.Duration // CPU, RSS and rate sampling; default 1s

	// HistoryMemory bounds what History keeps of each instance, in bytes;
	// default the configuration's agent.history_memory, read at New.
	HistoryMemory int64

	// NoCgroups contains plugins by process group only, as on a machine
	// without cgroups (benchmarks compare the two).
	NoCgroups bool

	// Clock is the wall clock that the trust keys' not_before and
	// not_after are checked against, at every start; default time.Now.
	// Only that: timers and the status's times keep the real clock.
	Clock func() time.Time

	// afterVerify runs between verification and exec; tests use it to swap
	// the file on disk inside that window.
	afterVerify func(*registry.Plugin)
}

// Supervisor runs the plugins of one configuration. It implements API.
type Supervisor struct {
	opts     Options
	log      *slog.Logger
	bus      *bus
	history  *history
	verifier *registry.Verifier
	versions *registry.Versions // the highest signed version run, per plugin
	tokens   *Tokens

	applyMu sync.Mutex // one configuration change at a time

	mu        sync.RWMutex
	started   time.Time
	env       *instanceEnv // what every instance is given; set by Run
	config    *registry.Config
	instances map[string]*instance
	order     []*instance
	runCtx    context.Context
	wg        sync.WaitGroup
	rr        atomic.Uint64 // round-robin over instances for SendTask

	ready   chan struct{}
	closing atomic.Bool

	reg registration // the plugin socket's connections not yet registered
}

var _ API = (*Supervisor)(nil)

// New checks the options; nothing starts until Run.
func New(opts Options) (*Supervisor, error) {
	if opts.Config == nil {
		return nil, errors.New("supervisor: no configuration")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.BackoffBase, time.Second)
	def(&opts.BackoffMax, time.Minute)
	def(&opts.HealthyAfter, 10*time.Minute)
	def(&opts.TermGrace, 2*time.Second)
	def(&opts.StatsInterval, time.Second)
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HistoryMemory <= 0 {
		opts.HistoryMemory = int64(opts.Config.Agent.HistoryMemory)
	}
	// A broken record refuses the signed plugins it protects, at each of
	// their starts (registry.Versions); the rest of the engine runs.
	versions, verr := registry.OpenVersions(opts.Config.Agent.WorkDir)
	h := newHistory(opts.HistoryMemory)
	s := &Supervisor{versions: versions,
		opts: opts, history: h, verifier: registry.NewVerifierIn(filepath.Join(opts.Config.Agent.WorkDir, "verified")),
		config: opts.Config, instances: map[string]*instance{}, ready: make(chan struct{}),
		reg:    registration{logged: ratelimit.New(20, time.Second)},
		tokens: NewTokens(""),
	}
	s.bus = newBus(func() int64 { return int64(s.cfg().Agent.SubscriberBuffer) }, h.keep)
	// Everything the engine logs is also an event, and kept.
	s.log = slog.New(newLogTee(opts.Logger.Handler(), s.bus.publish))
	if verr != nil {
		s.log.Error("signed plugins that do not allow a downgrade will be refused until the record is repaired or removed", "err", verr)
	}
	return s, nil
}

func (s *Supervisor) cfg() *registry.Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.config
}

// Logger is the engine's logger: what is logged through it is written
// where Options.Logger writes and is also the supervisor's log in History
// and on the event bus, so the faces beside the engine log through it.
func (s *Supervisor) Logger() *slog.Logger { return s.log }

// Ready is closed once the socket listens and auto-start plugins were launched.
func (s *Supervisor) Ready() <-chan struct{} { return s.ready }

// Run listens for plugins, starts the auto-start ones and supervises until
// ctx is cancelled; then it stops every plugin gracefully and returns.
func (s *Supervisor) Run(ctx context.Context) error {
	agent := s.cfg().Agent
	if err := becomeSubreaper(); err != nil {
		s.log.Warn("cannot become child subreaper; orphans of plugins are left to init", "err", err)
	}
	if err := notDumpable(); err != nil {
		s.log.Warn("cannot make the supervisor non-dumpable; a plugin of its uid could trace it", "err", err)
	}
	// Before any process is started: on cgroup2 the supervisor may move
	// itself into a leaf of its own.
	contain := newContainment(s.log, s.opts.NoCgroups)
	defer contain.close()
	ln, err := unixsock.Listen(agent.Socket)
	if err != nil {
		return err
	}
	defer ln.Close()
	l := &launcher{log: s.log, kids: newChildren(), contain: contain, afterVerify: s.opts.afterVerify,
		starting: make(chan struct{}, maxStarting)}
	l.sockets = newUserSockets(agent.Socket, agent.WorkDir, s.accept)
	defer l.sockets.close()
	if s.opts.WatchdogExe != "" {
		if l.watchdog, err = startWatchdog(s.opts.WatchdogExe, s.log, l.kids, contain.parents()); err != nil {
			return err
		}
		defer l.watchdog.close()
	}
	stopSweep := make(chan struct{})
	defer close(stopSweep)
	go l.kids.reapOnSIGCHLD(stopSweep, l.adopted)
	defer s.verifier.Close()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.started, s.runCtx, s.env = time.Now(), runCtx, s.newEnv(l)
	s.mu.Unlock()
	if err := s.apply(s.cfg(), "configured"); err != nil {
		// Stop what was already launched, gracefully, before giving up.
		s.closing.Store(true)
		cancel()
		s.wg.Wait()
		return err
	}
	go s.accept(ln)
	go s.sample(runCtx)
	s.log.Info("supervisor ready", "name", agent.Name, "socket", agent.Socket, "plugins", len(s.order))
	close(s.ready)

	<-ctx.Done()
	s.closing.Store(true)
	s.log.Info("stopping all plugins")
	s.wg.Wait()
	return nil
}

func (s *Supervisor) instance(id string) *instance {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.instances[id]
}

// resolve maps an API name to instances: an instance id, or a plugin name
// meaning all its instances.
func (s *Supervisor) resolve(name string) ([]*instance, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if in := s.instances[name]; in != nil {
		return in.alone[:], nil // callers only read it
	}
	var out []*instance
	for _, in := range s.order {
		if in.name == name {
			out = append(out, in)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q: %w", name, ErrUnknownPlugin)
	}
	return out, nil
}

// Snapshot returns every instance's status, in configuration order.
func (s *Supervisor) Snapshot(ctx context.Context) ([]PluginStatus, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	order := s.order
	s.mu.RUnlock()
	now := time.Now()
	out := make([]PluginStatus, len(order))
	for i, in := range order {
		out[i] = in.status(now)
	}
	return out, nil
}

// Start starts a plugin and returns once it registered, or why it did not.
func (s *Supervisor) Start(ctx context.Context, name string) error {
	return s.each(ctx, name, opStart, "started by operator")
}

// Stop stops a plugin gracefully and returns once it is gone.
func (s *Supervisor) Stop(ctx context.Context, name string) error {
	return s.each(ctx, name, opStop, "stopped by operator")
}

// Restart stops and starts a plugin and returns once it registered again.
func (s *Supervisor) Restart(ctx context.Context, name string) error {
	return s.each(ctx, name, opRestart, "restarted by operator")
}

func (s *Supervisor) each(ctx context.Context, name string, op op, reason string) error {
	if s.closing.Load() {
		return ErrClosed
	}
	ins, err := s.resolve(name)
	if err != nil {
		return err
	}
	errs := make([]error, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		wg.Go(func() { errs[i] = in.do(ctx, op, reason, nil) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Reload re-reads the configuration and applies the difference. A
// configuration that does not load changes nothing.
func (s *Supervisor) Reload(ctx context.Context) error {
	if s.opts.Reload == nil {
		return ErrNoReload
	}
	if err := s.running(); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	cfg, err := s.opts.Reload()
	if err != nil {
		return fmt.Errorf("reload: %w (the running configuration is kept)", err)
	}
	if err := movedAgent(s.cfg(), cfg); err != nil {
		return fmt.Errorf("reload: %w (the running configuration is kept)", err)
	}
	if err := s.apply(cfg, "reloaded"); err != nil {
		return fmt.Errorf("reload: applied except: %w", err)
	}
	return nil
}

// running says why configuration changes cannot be applied now, if so.
func (s *Supervisor) running() error {
	s.mu.RLock()
	started := s.runCtx != nil
	s.mu.RUnlock()
	switch {
	case s.closing.Load():
		return ErrClosed
	case !started:
		return ErrNotStarted
	}
	return nil
}

// SendTask sends a task to a running instance of req.Plugin (round-robin
// over the instances of a plugin) and waits for its reply.
func (s *Supervisor) SendTask(ctx context.Context, req TaskRequest) (Reply, error) {
	if err := checkToken(req.Token); err != nil {
		return Reply{Plugin: req.Plugin, ID: req.ID, Token: req.Token, Outcome: OutcomeNotSent}, err
	}
	sess, err := s.session(req.Plugin)
	if err != nil {
		return Reply{Plugin: req.Plugin, ID: req.ID, Token: req.Token, Outcome: OutcomeNotSent}, err
	}
	return sess.task(ctx, req, s.cfg().Agent.TaskTimeout)
}

// Ping measures one round trip to a running instance of name.
func (s *Supervisor) Ping(ctx context.Context, name string) (time.Duration, error) {
	sess, err := s.session(name)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg().Agent.HeartbeatTimeout)
	defer cancel()
	return sess.ping(ctx)
}

func (s *Supervisor) session(name string) (*session, error) {
	ins, err := s.resolve(name)
	if err != nil {
		return nil, err
	}
	start := s.rr.Add(1)
	var why []string
	for i := range ins {
		sess, notLive := ins[(int(start)+i)%len(ins)].live()
		if sess != nil {
			return sess, nil
		}
		why = append(why, notLive)
	}
	return nil, fmt.Errorf("%s: %w: %v", name, ErrNotRunning, why)
}

// Logs returns the last n captured lines of name, oldest first.
func (s *Supervisor) Logs(ctx context.Context, name string, n int) ([]LogLine, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ins, err := s.resolve(name)
	if err != nil {
		return nil, err
	}
	var out []LogLine
	for _, in := range ins {
		out = append(out, in.logs.last(n)...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	if n > 0 && len(out) > n {
		out = out[len(out)-n:]
	}
	return out, nil
}

// Subscribe returns a bounded stream of events; a subscriber that falls
// behind loses events and is told how many. The stream ends when cancel is
// called or ctx is done.
func (s *Supervisor) Subscribe(ctx context.Context, buffer int) (<-chan Event, func(), error) {
	return s.SubscribeWithout(ctx, buffer)
}

// SubscribeWithout is Subscribe without the events of the types in skip:
// a subscriber with no use for them (the console, which takes heartbeats
// from the snapshot) is not woken by them. See SkippingSubscriber.
func (s *Supervisor) SubscribeWithout(ctx context.Context, buffer int, skip ...EventType) (<-chan Event, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	ch, cancel := s.bus.subscribe(buffer, skip...)
	stop := context.AfterFunc(ctx, cancel)
	return ch, func() { stop(); cancel() }, nil
}

// Info describes the supervisor itself.
func (s *Supervisor) Info(ctx context.Context) (Info, error) {
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	cfg := s.cfg()
	s.mu.RLock()
	started := s.started
	s.mu.RUnlock()
	events, bytes := s.bus.droppedTotal()
	var contained []string
	var wdPID, wdRestarts int
	if env := s.instanceEnv(); env != nil {
		contained = env.launcher.describe()
		wdPID, wdRestarts = env.launcher.watchdog.pid()
	}
	return Info{
		Containment: contained, WatchdogPID: wdPID, WatchdogRestarts: wdRestarts,
		DroppedEvents: events, DroppedEventBytes: bytes,
		Name: cfg.Agent.Name, Host: cfg.Agent.Host, Started: started, PID: os.Getpid(),
		Socket: cfg.Agent.Socket, ControlSocket: cfg.Agent.ControlSocket, ConfigFiles: cfg.Files,
		RefusedConns: s.reg.refused.Load(), ShedConns: s.reg.shed.Load(),
		HeartbeatTimeout: cfg.Agent.HeartbeatTimeout,
		HistoryDropped:   s.history.dropped.Load(), HistoryDroppedBytes: s.history.droppedBytes.Load(),
	}, nil
}

func (s *Supervisor) instanceEnv() *instanceEnv {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.env
}

// newEnv is what the instances of this run are given.
func (s *Supervisor) newEnv(l *launcher) *instanceEnv {
	e := &instanceEnv{
		log: s.log, bus: s.bus, verifier: s.verifier, versions: s.versions, launcher: l, tokens: s.tokens, beats: newHeartbeats(),
		restart:   restartPolicy{base: s.opts.BackoffBase, max: s.opts.BackoffMax, healthyAfter: s.opts.HealthyAfter},
		termGrace: s.opts.TermGrace, closing: &s.closing, refusals: s.reg.logged, now: s.opts.Clock,
	}
	e.agent.Store(&s.config.Agent)
	e.trust.Store(s.config.Trust)
	return e
}
