// Package screen paints a Bubble Tea program's frames on a terminal when,
// and only when, a frame changes.
//
// Bubble Tea v2.0.10's renderer paints on a ticker that wakes at its frame
// rate whether or not anything changed, and it cannot be slowed or stopped
// while the program runs. On a host where the console sits idle beside the
// plugins all day, those wake-ups are most of its cost (BenchmarkIdle in
// package tui). A Terminal takes the renderer's place: the program runs
// with tea.WithoutRenderer and a 1 fps ticker (which then only flushes
// Bubble Tea's own queued queries), and Wrap hands every frame View returns
// to the Terminal, which paints it from its own goroutine: a frame that
// answers the operator's input at once, the others at most once per frame
// period, and nothing while nothing changes.
//
// Without its renderer Bubble Tea also leaves the terminal alone, so a
// Terminal does that part too: raw mode, the window size and its changes
// (SIGWINCH), the alternate screen, mouse and bracketed-paste modes, the
// kitty keyboard protocol, synchronised output, the window title, and
// giving all of it back on Close, also when the program panics (Wrap
// guards Update, View and the commands they return).
//
// It honours the parts of tea.View the console uses: Content, AltScreen
// (the screen is always the alternate one), MouseMode, WindowTitle,
// ReportFocus, DisableBracketedPasteMode, KeyboardEnhancements and Cursor
// (position and visibility). Colours of the terminal itself, the cursor's
// shape and progress bars are not painted.
package screen

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
	"golang.org/x/term"
)

// Terminal paints frames on one terminal. Open makes one, Close gives the
// terminal back; every method is safe to call from any goroutine.
type Terminal struct {
	out   io.Writer // where frames go
	inFd  int       // the input terminal, or -1
	outFd int       // the output terminal, or -1
	saved *term.State
	gap   time.Duration // the least time between two paints: 1s/fps
	env   uv.Environ

	wake  chan struct{} // a frame is pending (capacity 1)
	quit  chan struct{} // closed by Close
	ended chan struct{} // closed when the paint loop has returned
	winch chan os.Signal

	closeOnce sync.Once

	mu      sync.Mutex // guards everything below
	r       *uv.TerminalRenderer
	rbuf    bytes.Buffer // what r writes, before it goes out
	cells   uv.ScreenBuffer
	w, h    int
	syncd   bool
	erase   bool      // the next paint redraws everything
	urgent  bool      // input is waiting for its frame: paint it without waiting the period out
	pending *tea.View // the newest frame not painted yet
	painted *tea.View // the frame on the terminal
	seqs    []byte    // sequences to write ahead of the next frame
	closed  bool
	werr    error // the first write error: painting stops there
}

// Open takes the terminal: in (Bubble Tea's input) is put in raw mode if it
// is a terminal, and out is where frames are painted. fps bounds how often
// a changing frame is painted; the environment decides the terminal's
// capabilities as Bubble Tea's renderer would. Close gives it all back.
func Open(in io.Reader, out io.Writer, env []string, fps int) (*Terminal, error) {
	if fps < 1 {
		fps = 1
	}
	t := &Terminal{
		out:   out,
		inFd:  ttyFd(in),
		outFd: ttyFd(out),
		gap:   time.Second / time.Duration(fps),
		env:   uv.Environ(env),
		wake:  make(chan struct{}, 1),
		quit:  make(chan struct{}),
		ended: make(chan struct{}),
		cells: uv.NewScreenBuffer(0, 0),
	}
	if t.inFd >= 0 {
		st, err := term.MakeRaw(t.inFd)
		if err != nil {
			return nil, errors.Join(errors.New("screen: entering raw mode"), err)
		}
		t.saved = st
	}
	t.newRenderer(colorprofile.Detect(out, env))
	if t.querySync() {
		// The replies come back as tea.ModeReportMsg, which Wrap passes on.
		t.seqs = append(t.seqs, ansi.RequestModeSynchronizedOutput+ansi.RequestModeUnicodeCore...)
	}
	go t.loop()
	return t, nil
}

// ProgramOptions are what the program must run with for the Terminal to
// paint it: its own renderer off, its ticker slowed to the least it takes,
// the terminal's size, and (with a terminal as output) resizes sent as
// tea.WindowSizeMsg once Watch is called.
func (t *Terminal) ProgramOptions() []tea.ProgramOption {
	opts := []tea.ProgramOption{tea.WithoutRenderer(), tea.WithFPS(1)}
	if w, h, ok := t.size(); ok {
		opts = append(opts, tea.WithWindowSize(w, h))
	}
	return opts
}

// FPS is the most frames a second t paints.
func (t *Terminal) FPS() int { return int(time.Second / t.gap) }

// Watch sends p a tea.WindowSizeMsg whenever the output terminal's size
// changes, until Close. Without its renderer Bubble Tea does not.
func (t *Terminal) Watch(p *tea.Program) {
	if t.outFd < 0 {
		return
	}
	t.winch = make(chan os.Signal, 1)
	signal.Notify(t.winch, syscall.SIGWINCH)
	go func() {
		for {
			select {
			case <-t.quit:
				return
			case <-t.winch:
			}
			if w, h, ok := t.size(); ok {
				p.Send(tea.WindowSizeMsg{Width: w, Height: h})
			}
		}
	}()
}

// Emit writes seq (a clipboard write, a query) to the terminal ahead of the
// next frame, at once: Bubble Tea's own queue for them is flushed only on
// its ticker, once a second here.
func (t *Terminal) Emit(seq string) {
	t.mu.Lock()
	if !t.closed {
		t.seqs = append(t.seqs, seq...)
	}
	t.mu.Unlock()
	t.poke()
}

// Close stops painting and gives the terminal back: the modes the frames
// turned on are turned off, the alternate screen is left, and the input's
// terminal modes are restored. It returns the first error writing to the
// terminal, if any. Calling it again does nothing.
func (t *Terminal) Close() error {
	var err error
	t.closeOnce.Do(func() {
		close(t.quit)
		<-t.ended
		if t.winch != nil {
			signal.Stop(t.winch)
		}
		t.mu.Lock()
		t.closed = true
		t.restoreModes()
		err = t.werr
		t.mu.Unlock()
		if t.saved != nil {
			if rerr := term.Restore(t.inFd, t.saved); rerr != nil && err == nil {
				err = errors.Join(errors.New("screen: restoring terminal modes"), rerr)
			}
		}
	})
	return err
}

// restoreModes writes what undoes the painted frame's modes. t.mu is held.
func (t *Terminal) restoreModes() {
	var b bytes.Buffer
	if lv := t.painted; lv != nil {
		b.WriteString(ansi.ResetModifyOtherKeys + ansi.PopKittyKeyboard(1))
		t.r.MoveTo(0, t.cells.Height()-1)
		_ = t.r.Flush()
		b.Write(t.rbuf.Bytes())
		t.rbuf.Reset()
		b.WriteString(ansi.ResetModeAltScreenSaveCursor + ansi.SetModeTextCursorEnable)
		if !lv.DisableBracketedPasteMode {
			b.WriteString(ansi.ResetModeBracketedPaste)
		}
		if lv.ReportFocus {
			b.WriteString(ansi.ResetModeFocusEvent)
		}
		if lv.MouseMode != tea.MouseModeNone {
			b.WriteString(ansi.ResetModeMouseButtonEvent + ansi.ResetModeMouseAnyEvent + ansi.ResetModeMouseExtSgr)
		}
		if lv.WindowTitle != "" {
			b.WriteString(ansi.SetWindowTitle(""))
		}
	}
	if t.cells.Method == ansi.GraphemeWidth {
		b.WriteString(ansi.ResetModeUnicodeCore)
	}
	t.seqs = append(t.seqs, b.Bytes()...)
	t.writeOut(nil)
}

// size is the output terminal's size, if it is one.
func (t *Terminal) size() (w, h int, ok bool) {
	if t.outFd < 0 {
		return 0, 0, false
	}
	w, h, err := term.GetSize(t.outFd)
	return w, h, err == nil && w > 0 && h > 0
}

// ttyFd is f's descriptor if f is a terminal, else -1.
func ttyFd(f any) int {
	if fd, ok := f.(interface{ Fd() uintptr }); ok && term.IsTerminal(int(fd.Fd())) {
		return int(fd.Fd())
	}
	return -1
}

// querySync says whether to ask the terminal about synchronised output and
// grapheme widths: Bubble Tea's rule (terminals known to answer, not over
// ssh unless they are known to).
func (t *Terminal) querySync() bool {
	typ := t.env.Getenv("TERM")
	prog, hasProg := t.env.LookupEnv("TERM_PROGRAM")
	_, ssh := t.env.LookupEnv("SSH_TTY")
	_, wt := t.env.LookupEnv("WT_SESSION")
	if wt || (!ssh && (!hasProg || !strings.Contains(prog, "Apple"))) {
		return true
	}
	for _, known := range []string{"ghostty", "wezterm", "alacritty", "kitty", "rio"} {
		if strings.Contains(typ, known) {
			return true
		}
	}
	return false
}
