// Package tui is plugvisor's operations console: a Bubble Tea program that watches and steers plugins through the supervisor's operator API.
package tui

import (
	"context"
	"errors"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/supervisor"
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

	// For tests and benchmarks.
	now       func() time.Time     // the clock; nil is time.Now
	getenv    func(string) string  // nil is os.Getenv
	eventBuf  int                  // Subscribe buffer; 0 is defaultEventBuffer
	foldEvery time.Duration        // 0 is foldInterval
	onFrame   func(content string) // called with every frame View returns
	program   []tea.ProgramOption  // extra program options (a pty as the terminal)
}

// Run runs the console on the terminal until the operator quits (and, with
// StopEngine, until the engine has stopped) or ctx ends. Bubble Tea restores
// the terminal on the way out, also after a panic in the console, which Run
// then reports as an error.
func Run(ctx context.Context, api supervisor.API, opts Options) (err error) {
	m := newModel(api, opts)
	defer m.close()
	p := tea.NewProgram(m, append([]tea.ProgramOption{tea.WithContext(ctx)}, opts.program...)...)
	defer func() {
		// A panic outside Bubble Tea's own recovery (there should be none):
		// make sure the terminal is given back before it propagates.
		if r := recover(); r != nil {
			p.Kill()
			err = fmt.Errorf("console: panic: %v", r)
		}
	}()
	_, err = p.Run()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil:
		return nil // the caller ended the console on purpose
	case errors.Is(err, tea.ErrProgramPanic):
		return fmt.Errorf("console: panicked (terminal restored): %w", err)
	}
	return fmt.Errorf("console: %w", err)
}

// New returns the console's root model, for tests (teatest) and embedding.
// The model subscribes to api's events when the program starts it (Init)
// and unsubscribes when the program ends it.
func New(api supervisor.API, opts Options) tea.Model { return newModel(api, opts) }
