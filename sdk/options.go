package sdk

import (
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"
)

// Option tunes Run.
type Option func(*options)

type options struct {
	env            Env
	envSet         bool
	stdin          io.Reader
	stdout, stderr io.Writer
	log            *slog.Logger
	grace          time.Duration
	handshake      time.Duration
	queueSize      int
	queueBytes     int
	maxInFlight    int
	signals        []os.Signal
	clock          clock // the heartbeat's time; tests drive it
}

// Defaults.
const (
	DefaultGrace            = 5 * time.Second  // shutdown grace after a signal, a cancelled context or a lost connection
	DefaultHandshakeTimeout = 10 * time.Second // how long to wait for the welcome
	DefaultMaxInFlight      = 256              // task workers, so handlers running at once; up to 1024 more tasks wait in order
)

func newOptions(opts []Option) options {
	o := options{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		grace: DefaultGrace, handshake: DefaultHandshakeTimeout,
		queueSize: defaultQueueSize, queueBytes: defaultQueueBytes, maxInFlight: DefaultMaxInFlight,
		signals: []os.Signal{syscall.SIGINT, syscall.SIGTERM},
		clock:   realClock{},
	}
	for _, opt := range opts {
		opt(&o)
	}
	if !o.envSet {
		o.env = EnvFromOS()
	}
	// The banner, stdin complaints and the default logger share stderr.
	o.stderr = &lockedWriter{w: o.stderr}
	if o.log == nil {
		o.log = slog.New(slog.NewTextHandler(o.stderr, nil))
	}
	return o
}

// WithEnv replaces the environment variables the supervisor sets (for tests
// and embedding).
func WithEnv(e Env) Option { return func(o *options) { o.env, o.envSet = e, true } }

// WithStdio replaces stdin, stdout and stderr: standalone mode reads tasks
// from in and writes records to out; the banner and the default logger use
// errOut.
func WithStdio(in io.Reader, out, errOut io.Writer) Option {
	return func(o *options) { o.stdin, o.stdout, o.stderr = in, out, errOut }
}

// WithLogger sets the logger for the SDK's own messages (default: text to
// stderr, which the supervisor captures).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithGrace sets the shutdown grace used when no Shutdown message gave one:
// after a signal, a cancelled context, a lost connection or Run's return.
func WithGrace(d time.Duration) Option { return func(o *options) { o.grace = d } }

// WithHandshakeTimeout bounds the wait for the supervisor's welcome.
func WithHandshakeTimeout(d time.Duration) Option { return func(o *options) { o.handshake = d } }

// WithQueueSize sets how many records may wait before Emit blocks
// (default 65536).
func WithQueueSize(n int) Option { return func(o *options) { o.queueSize = max(n, 1) } }

// WithQueueBytes sets how many bytes of records (as encoded on the wire) may
// wait before Emit blocks (default 64 MiB). Emit blocks when either this or
// WithQueueSize's bound is reached; a single record larger than n still goes
// into an empty queue.
func WithQueueBytes(n int) Option { return func(o *options) { o.queueBytes = max(n, 1) } }

// WithMaxInFlight sets how many task handlers may run at once: the size of
// the pool of workers that run them, started as tasks need them and kept
// for the session, so a handler's grown stack is reused. Up to 1024
// more tasks (64 MiB of content) wait in arrival order; a task beyond that is
// answered at once with task_status error and "plugin busy: N tasks in
// flight".
func WithMaxInFlight(n int) Option { return func(o *options) { o.maxInFlight = max(n, 1) } }

// WithSignals sets the signals that begin shutdown (default SIGINT and
// SIGTERM); none disables signal handling, e.g. when embedded.
func WithSignals(sigs ...os.Signal) Option { return func(o *options) { o.signals = sigs } }

// lockedWriter serialises writes from several goroutines, so lines written
// at once never interleave.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
