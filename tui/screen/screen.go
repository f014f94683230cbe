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
// The program must not use tea.Exec or tea.Suspend: without its renderer
// Bubble Tea gives nothing back before running another program or
// stopping, and the Terminal is not told. A stop from job control is
// handled (Watch): on SIGTSTP the terminal is given back before the
// process stops, and on SIGCONT taken again and repainted.
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
	"fmt"
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
	env   uv.Environ

	wake  chan struct{} // a frame or a sequence is pending (capacity 1)
	quit  chan struct{} // closed by Close
	ended chan struct{} // closed when the paint loop has returned
	sigs  chan os.Signal

	closeOnce sync.Once

	mu        sync.Mutex // guards everything below
	gap       time.Duration
	r         *uv.TerminalRenderer
	rbuf      bytes.Buffer // what r writes, before it goes out
	cells     uv.ScreenBuffer
	w, h      int
	syncd     bool
	erase     bool      // the next paint redraws everything
	urgent    bool      // pending answers input: paint it without waiting the period out
	input     bool      // input came; the next frame offered answers it
	pending   *tea.View // the newest frame not painted yet
	painted   *tea.View // the frame on the terminal
	seqs      []byte    // sequences to write ahead of the next frame
	closed    bool
	werr      error  // the first write error: painting stops there
	failed    error  // painting panicked, or the terminal took nothing: wraps ErrPainting
	onFailure func() // ends the program when painting fails (Watch)
	given     [2]int // the size ProgramOptions gave the program

	stop         func()        // stops the process for suspend: stopSelf, or a test's
	stoppable    func() bool   // whether a stop would be continued: jobControlled, or a test's
	suspendAsked chan struct{} // a stop is asked for: the loop gives the screen back, then closes it
	stopped      bool          // the screen is given back for a stop: nothing is painted until resume
	again        bool          // resumed from a stop not ours: the next paint writes the modes again
}

// ErrPainting is wrapped by the error Close returns when painting itself
// failed: the paint loop panicked, a write to the terminal failed, or the
// terminal took no output for closeWait. The program was ended for it
// (Watch) and the terminal given back as far as it could be.
var ErrPainting = errors.New("screen: painting failed")

// closeWait bounds how long Close waits for a write the terminal is not
// taking (a stalled ssh session) before it gives the terminal's modes back
// without the sequences that undo the frames' modes.
const closeWait = 2 * time.Second

// Open takes the terminal: in (Bubble Tea's input) is put in raw mode if it
// is a terminal, and out is where frames are painted. fps bounds how often
// a changing frame is painted; the environment decides the terminal's
// capabilities as Bubble Tea's renderer would. Close gives it all back.
func Open(in io.Reader, out io.Writer, env []string, fps int) (*Terminal, error) {
	t := &Terminal{
		out:   out,
		inFd:  ttyFd(in),
		outFd: ttyFd(out),
		gap:   time.Second / time.Duration(max(fps, 1)),
		env:   uv.Environ(env),
		wake:  make(chan struct{}, 1),
		quit:  make(chan struct{}),
		ended: make(chan struct{}),
		sigs:  make(chan os.Signal, 8),
		cells: uv.NewScreenBuffer(0, 0),
	}
	t.stop, t.stoppable = t.stopSelf, jobControlled
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
// and the terminal's size.
func (t *Terminal) ProgramOptions() []tea.ProgramOption {
	opts := []tea.ProgramOption{tea.WithoutRenderer(), tea.WithFPS(1)}
	if w, h, ok := t.size(); ok {
		opts = append(opts, tea.WithWindowSize(w, h))
		t.mu.Lock()
		t.given = [2]int{w, h}
		t.mu.Unlock()
	}
	return opts
}

// FPS is the most frames a second t paints.
func (t *Terminal) FPS() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return int(time.Second / t.gap)
}

// Emit writes seq (a clipboard write, a query) to the terminal at once,
// ahead of the next frame: Bubble Tea's own queue for them is flushed only
// on its ticker, once a second here.
//
// What is queued is bounded (maxQueued): past it, or once the terminal has
// failed a write, a sequence is dropped and Emit says so (the console says
// it in its footer, whose history keeps each).
//
// It reports whether seq was queued.
func (t *Terminal) Emit(seq string) bool {
	t.mu.Lock()
	ok := !t.closed && t.werr == nil && len(t.seqs)+len(seq) <= maxQueued
	if ok {
		t.seqs = append(t.seqs, seq...)
	}
	t.mu.Unlock()
	t.poke()
	return ok
}

// maxQueued bounds the bytes Emit queues ahead of the next frame: room for
// a few of the console's largest clipboard writes.
const maxQueued = 4 << 20

// Close stops painting and gives the terminal back: the modes the frames
// turned on are turned off, the alternate screen is left, and the input's
// terminal modes are restored, the last whatever happens before it. It
// returns why painting failed (ErrPainting) or the first write error, if
// any. Calling it again does nothing more.
func (t *Terminal) Close() error {
	t.closeOnce.Do(func() {
		defer t.restoreInput()
		defer func() { t.mu.Lock(); t.closed = true; t.mu.Unlock() }() // before restoreInput: no resume after it
		signal.Stop(t.sigs)
		close(t.quit)
		select {
		case <-t.ended:
		case <-time.After(closeWait):
			t.mu.Lock()
			t.closed = true // nothing more is painted, whenever the terminal takes output again
			t.mu.Unlock()
			t.fail(fmt.Errorf("%w: the terminal took no output for %v; its modes were restored, not its screen", ErrPainting, closeWait))
			return
		}
		t.mu.Lock()
		t.closed = true
		out := t.restoreModes()
		t.mu.Unlock()
		t.write(out)
	})
	t.mu.Lock()
	defer t.mu.Unlock()
	return errors.Join(t.failed, t.werr)
}

// restoreInput gives the input terminal its modes from before Open.
func (t *Terminal) restoreInput() {
	if t.saved == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	// A terminal hung up (EIO) or gone has no modes left to give back.
	if err := term.Restore(t.inFd, t.saved); err != nil && t.werr == nil && !errors.Is(err, syscall.EIO) && !errors.Is(err, syscall.ENOTTY) {
		t.werr = fmt.Errorf("screen: restoring terminal modes: %w", err)
	}
}

// fail records why painting failed, the first reason only, and ends the
// program (Watch).
func (t *Terminal) fail(err error) {
	t.mu.Lock()
	if t.failed == nil {
		t.failed = err
	}
	end := t.onFailure
	t.mu.Unlock()
	if end != nil {
		go end()
	}
}

// resetAll undoes every mode a frame may have turned on, without the
// renderer: what restoreModes falls back to if the renderer panics.
const resetAll = ansi.ResetModifyOtherKeys + "\x1b[<1u" + ansi.ResetModeAltScreenSaveCursor + ansi.SetModeTextCursorEnable +
	ansi.ResetModeBracketedPaste + ansi.ResetModeFocusEvent +
	ansi.ResetModeMouseButtonEvent + ansi.ResetModeMouseAnyEvent + ansi.ResetModeMouseExtSgr

// restoreModes is what undoes the painted frame's modes, with anything
// still queued ahead of it. t.mu is held.
func (t *Terminal) restoreModes() (out []byte) {
	defer func() {
		if r := recover(); r != nil { // the renderer failed: undo everything, plainly
			out = []byte(resetAll)
		}
	}()
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
	return t.take(nil)
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
