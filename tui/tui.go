// Package tui is plugvisor's operations console: a Bubble Tea program that watches and steers plugins through the supervisor's operator API.
package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	tea "charm.land/bubbletea/v2"
	"golang.org/x/term"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/tui/screen"
)

// Options configure the console.
type Options struct {
	Theme    string // theme name from --theme or the config; "" = follow the terminal background
	ThemeDir string // user themes: $XDG_CONFIG_HOME/plugvisor/themes (main passes it)
	// StopEngine, when non-nil, is called when the operator quits: it stops every plugin gracefully.
	// The console stays up showing stop progress (from state events / Snapshot) until EngineDone is closed.
	// Nil when attached to a remote supervisor: quitting then leaves the plugins running.
	StopEngine func()
	EngineDone <-chan struct{}
	Title      string // e.g. "plugvisor (attached to /run/x.ctl.sock)"; "" = default
	// KeepState keeps the command history and the theme, wrap and
	// timestamp preferences across runs in $XDG_STATE_HOME/plugvisor/.
	KeepState bool

	// Lost, when non-nil, is closed when the connection to a remote
	// supervisor is lost ((*control.Client).Done()); LostErr, when non-nil,
	// then says why ((*control.Client).Err). The console keeps showing the
	// last state it had, marked as lost, until the operator quits; Run then
	// returns an error wrapping ErrConnectionLost.
	Lost    <-chan struct{}
	LostErr func() error

	// Select is the instance selected first, once it appears, unless the
	// operator has chosen one by then; "" is the first row.
	Select string

	// Notice, when non-nil, may carry one standing warning (the control
	// socket could not be had...), shown for the rest of the run.
	Notice <-chan Notice

	// FPS is the most frames a second the console paints while its frame
	// keeps changing, and so what bounds a key's wait for its frame then:
	// one period, 1s/FPS. A frame that follows a quiet spell is painted at
	// once. 0 is FPS; 1 to 120 are taken.
	FPS int

	// For tests and benchmarks.
	now       func() time.Time                // the clock; nil is time.Now
	getenv    func(string) string             // nil is os.Getenv
	eventBuf  int                             // Subscribe buffer; 0 is defaultEventBuffer
	foldEvery time.Duration                   // 0 is foldInterval
	onFrame   func(content string)            // called with every frame View returns
	program   []tea.ProgramOption             // extra program options
	in        io.Reader                       // the keyboard; nil is stdin, or the process's terminal
	out       io.Writer                       // where frames go; nil is stdout
	savePrefs func(dir string, p prefs) error // nil is writePrefs
	emit      func(seq string) bool           // writes to the terminal at once (false: dropped); nil is Bubble Tea's queue
}

// FPS is the most frames a second the console paints unless Options.FPS
// says otherwise. The console paints a frame only when it changes
// (package screen), so this costs nothing while it is idle; under a flood
// of records it is how often the frame is painted, and 24 keeps a key's
// effect within 42 ms of it.
const FPS = 24

// maxFPS is the most Options.FPS is taken to mean, as Bubble Tea's own
// renderer bounds it.
const maxFPS = 120

// frameRate is the rate the console paints at: Options.FPS, or FPS.
func (o Options) frameRate() int {
	switch {
	case o.FPS > maxFPS:
		return maxFPS
	case o.FPS > 0:
		return o.FPS
	}
	return FPS
}

// terminal is where Run paints: opts.in and opts.out, else stdin (or, if
// it is not a terminal, the process's terminal, as Bubble Tea would open)
// and stdout. closeIO closes what was opened here.
func terminal(opts Options) (in io.Reader, out io.Writer, closeIO func(), err error) {
	in, out, closeIO = opts.in, opts.out, func() {}
	if out == nil {
		out = os.Stdout
	}
	if in == nil {
		in = os.Stdin
		if !term.IsTerminal(int(os.Stdin.Fd())) {
			tty, ttyOut, err := tea.OpenTTY()
			if err != nil {
				return nil, nil, nil, fmt.Errorf("console: %w", err)
			}
			in, closeIO = tty, func() { tty.Close(); ttyOut.Close() }
		}
	}
	return in, out, closeIO, nil
}

// newProgram is the Bubble Tea program Run runs m in, painted on t.
func newProgram(ctx context.Context, m tea.Model, t *screen.Terminal, in io.Reader, out io.Writer, opts Options) *tea.Program {
	po := append([]tea.ProgramOption{tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out)}, t.ProgramOptions()...)
	return tea.NewProgram(t.Wrap(m), append(po, opts.program...)...)
}

// ErrLeftEarly is what Run returns when the operator, while the plugins
// were stopping, chose to leave without waiting (a second ctrl+c): the
// caller should not wait for the engine either, and say what becomes of the
// plugins.
var ErrLeftEarly = errors.New("left without waiting for the plugins to stop")

// ErrConnectionLost is wrapped by the error Run returns when the connection
// to the supervisor (Options.Lost) was lost while the console ran.
var ErrConnectionLost = errors.New("connection to the supervisor lost")

// Run runs the console on the terminal until the operator quits (and, with
// StopEngine, until the engine has stopped) or ctx ends. The console paints
// itself (package screen) and gives the terminal back on the way out, also
// after a panic in the console, which Run then reports as an error. If the
// connection to the supervisor was lost (Options.Lost), Run returns an
// error wrapping ErrConnectionLost and the cause, however the console
// ended.
func Run(ctx context.Context, api supervisor.API, opts Options) (err error) {
	in, out, closeIO, err := terminal(opts)
	if err != nil {
		return err
	}
	defer closeIO()
	t, err := screen.Open(in, out, os.Environ(), opts.frameRate())
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	defer t.Close()
	opts.emit = t.Emit
	m := newModel(api, opts)
	defer m.close()
	p := newProgram(ctx, m, t, in, out, opts)
	t.Watch(p)
	defer func() {
		// A panic outside Bubble Tea's own recovery (there should be none):
		// make sure the terminal is given back before it propagates.
		if r := recover(); r != nil {
			p.Kill()
			_ = t.Close()
			err = fmt.Errorf("console: panic: %v", r)
		}
	}()
	_, err = p.Run()
	terr := t.Close()
	// The event loop has ended: the model is no longer touched elsewhere.
	m.flushPrefs()
	return m.outcome(ctx, err, terr)
}

// outcome is what Run returns once the program has ended with err and the
// terminal was given back with terr: how the console ended, and what went
// wrong with the terminal, if anything, joined to it.
func (m *Model) outcome(ctx context.Context, err, terr error) error {
	var term error
	if terr != nil {
		term = fmt.Errorf("console: %w", terr)
	}
	switch {
	case errors.Is(err, tea.ErrProgramPanic):
		return errors.Join(fmt.Errorf("console: panicked (terminal restored): %w", err), term)
	case m.lost || isClosed(m.opts.Lost): // lost, said or not yet
		if !m.lost {
			m.linkLost(lostCause(m.opts.LostErr))
		}
		return errors.Join(m.lostError(), term)
	case ctx.Err() != nil && (err == nil || errors.Is(err, tea.ErrProgramKilled)):
		return nil // the caller ended the console on purpose (a hangup: the terminal may be gone too)
	case errors.Is(terr, screen.ErrPainting): // why the program was ended
		return term
	case err == nil && m.leftEarly:
		return errors.Join(ErrLeftEarly, term)
	case err == nil:
		return term
	}
	return errors.Join(fmt.Errorf("console: %w", err), term)
}

func isClosed(c <-chan struct{}) bool {
	if c == nil {
		return false
	}
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func lostCause(why func() error) error {
	if why == nil {
		return nil
	}
	return why()
}

// New returns the console's root model, for tests (teatest) and embedding.
// The model subscribes to api's events when the program starts it (Init)
// and unsubscribes when the program ends it.
func New(api supervisor.API, opts Options) tea.Model { return newModel(api, opts) }
