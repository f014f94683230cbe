package screen

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/creack/pty"
	"github.com/hinshun/vt10x"
	"golang.org/x/sys/unix"
)

// emulator is a terminal emulator the Terminal paints on: every write is
// fed to it and kept, and announced on writes (a signal, never a wait).
type emulator struct {
	mu     sync.Mutex
	vt     vt10x.Terminal
	all    bytes.Buffer
	writes chan struct{}
}

func newEmulator(w, h int) *emulator {
	return &emulator{vt: vt10x.New(vt10x.WithSize(w, h)), writes: make(chan struct{}, 1)}
}

func (e *emulator) Write(p []byte) (int, error) {
	e.mu.Lock()
	_, _ = e.vt.Write(p)
	e.all.Write(p)
	e.mu.Unlock()
	select {
	case e.writes <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (e *emulator) line(y int) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.TrimRight(strings.Split(e.vt.String(), "\n")[y], " ")
}

func (e *emulator) output() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.all.String()
}

func frame(content string) tea.View {
	v := tea.NewView(content)
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "pv"
	return v
}

// openOn opens a Terminal painting on e, its input a pipe (not a terminal).
func openOn(t *testing.T, e *emulator, fps int) *Terminal {
	t.Helper()
	in, _ := io.Pipe()
	term, err := Open(in, e, []string{"TERM=xterm-256color"}, fps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = term.Close() })
	return term
}

// waitFor reads writes until cond holds; each write is waited for with a
// deadline only against a hang.
func (e *emulator) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-e.writes:
		case <-time.After(30 * time.Second):
			t.Fatalf("never: %s; output so far %q", what, e.output())
		}
	}
}

// waitLines waits until the screen's first lines read want.
func (e *emulator) waitLines(t *testing.T, want ...string) {
	t.Helper()
	e.waitFor(t, "screen "+strings.Join(want, "|"), func() bool {
		for y, w := range want {
			if e.line(y) != w {
				return false
			}
		}
		return true
	})
}

// ptyPair is a pseudo-terminal for one test, with the modes its terminal
// side had when it was opened.
type ptyPair struct {
	ptmx, tty *os.File
	before    unix.Termios
}

func openPty(t *testing.T) *ptyPair {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ptmx.Close(); tty.Close() })
	p := &ptyPair{ptmx: ptmx, tty: tty}
	p.before = p.modes(t)
	return p
}

func (p *ptyPair) modes(t *testing.T) unix.Termios {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(p.tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return *tio
}

// checkRestored fails the test, saying what, unless the terminal's modes
// are those it had when it was opened.
func (p *ptyPair) checkRestored(t *testing.T, what string) {
	t.Helper()
	if got := p.modes(t); got != p.before {
		t.Errorf("%s: terminal modes %+v, want %+v", what, got, p.before)
	}
}

// since is the output written after mark (a length of output).
func (e *emulator) since(mark int) string { return e.output()[mark:] }

// paintedOn opens a Terminal on a w×h emulator and waits for its first
// frame, content, on the screen.
func paintedOn(t *testing.T, w, h int, content string) (*emulator, *Terminal) {
	t.Helper()
	e := newEmulator(w, h)
	term := openOn(t, e, 60)
	term.Resize(w, h)
	term.Offer(frame(content))
	e.waitLines(t, strings.Split(content, "\n")...)
	return e, term
}

// ptyPainted opens a Terminal whose input is pp's terminal (so raw mode
// is its) and whose output is a 20×2 emulator, and waits for a first
// frame, "x".
func ptyPainted(t *testing.T, pp *ptyPair) (*emulator, *Terminal) {
	t.Helper()
	e := newEmulator(20, 2)
	term, err := Open(pp.tty, e, nil, 60)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = term.Close() })
	term.Resize(20, 2)
	term.Offer(frame("x"))
	e.waitLines(t, "x")
	return e, term
}

// setGap sets the frame period, as a test wants it.
func (t *Terminal) setGap(d time.Duration) {
	t.mu.Lock()
	t.gap = d
	t.mu.Unlock()
}

// TestPaintsOnlyChanges: the first frame enters the alternate screen with
// the frame's modes and is painted whole; an equal frame is not painted
// at all; a changed one is painted as the cells that changed.
func TestPaintsOnlyChanges(t *testing.T) {
	e, term := paintedOn(t, 30, 4, "alpha line\nbeta line")
	first := e.output()
	for _, want := range []string{"\x1b[?1049h", "\x1b[?25l", "\x1b[?1002h", "\x1b[?1006h", "\x1b[?2004h", "\x1b]2;pv\a", "\x1b[>1u"} {
		if !strings.Contains(first, want) {
			t.Errorf("first paint lacks %q: %q", want, first)
		}
	}
	term.Offer(frame("alpha line\nbeta line"))
	term.mu.Lock()
	pending := term.pending
	term.mu.Unlock()
	if pending != nil {
		t.Fatal("an unchanged frame is pending a paint")
	}
	mark := len(first)
	term.Offer(frame("alpha line\nbeta LINE"))
	e.waitLines(t, "alpha line", "beta LINE")
	if second := e.since(mark); strings.Contains(second, "alpha") || strings.Contains(second, "\x1b[?1049h") {
		t.Errorf("the second paint repainted more than the change: %q", second)
	}
}

// TestSwitchModes: a frame whose modes differ from the last one's turns
// the old ones off and the new ones on, and a title is painted without
// control characters.
func TestSwitchModes(t *testing.T) {
	e, term := paintedOn(t, 20, 2, "x")
	mark := len(e.output())
	v := frame("y")
	v.MouseMode = tea.MouseModeAllMotion
	v.WindowTitle = "new\x1b]0;evil\a"
	term.Offer(v)
	e.waitLines(t, "y")
	got := e.since(mark)
	for _, want := range []string{"\x1b[?1002l", "\x1b[?1003h", "\x1b]2;new]0;evil\a"} {
		if !strings.Contains(got, want) {
			t.Errorf("switching modes lacks %q: %q", want, got)
		}
	}
}

// TestNewestFrameWins: frames offered while a paint waits out its frame
// period replace each other.
func TestNewestFrameWins(t *testing.T) {
	_, term := paintedOn(t, 20, 2, "one")
	term.setGap(time.Hour) // the next paint waits: nothing is painted in this test
	term.Offer(frame("two"))
	term.Offer(frame("three"))
	term.mu.Lock()
	defer term.mu.Unlock()
	if term.pending == nil || term.pending.Content != "three" {
		t.Fatalf("pending = %v, want the newest frame", term.pending)
	}
}

// TestInputFrameAtOnce: the frame that answers input is painted without
// waiting out the frame period; input that changes nothing leaves the
// next frame to the period.
func TestInputFrameAtOnce(t *testing.T) {
	e, term := paintedOn(t, 20, 2, "before")
	term.setGap(time.Hour) // without the input, the next frame would wait an hour
	m := term.Wrap(panicky{})
	m.Update(tea.KeyPressMsg{Code: 'j'})
	term.Offer(frame("answer"))
	e.waitLines(t, "answer")

	m.Update(tea.KeyPressMsg{Code: 'k'})
	term.Offer(frame("answer")) // the key changed nothing
	term.mu.Lock()
	urgent := term.urgent
	term.mu.Unlock()
	if urgent {
		t.Fatal("input that changed nothing left the next frame urgent")
	}
}

// TestResizeRepaintsWhole: after a resize the same frame is painted again,
// whole, at the new size.
func TestResizeRepaintsWhole(t *testing.T) {
	e, term := paintedOn(t, 20, 3, "kept\nacross")
	e.mu.Lock()
	e.vt.Resize(10, 2)
	e.vt.Write([]byte("\x1b[2J"))
	e.mu.Unlock()
	term.Resize(10, 2)
	term.Offer(frame("kept\nacross")) // the frame View draws for the new size
	e.waitLines(t, "kept", "across")
}

// TestCloseGivesTerminalBack: Close turns off every mode the frames turned
// on (the kitty keyboard entry popped while still on the alternate screen,
// which keeps its own) and leaves the alternate screen with the cursor
// shown; nothing handed over after Close is written.
func TestCloseGivesTerminalBack(t *testing.T) {
	e, term := paintedOn(t, 20, 2, "x")
	mark := len(e.output())
	if err := term.Close(); err != nil {
		t.Fatal(err)
	}
	last := e.since(mark)
	for _, want := range []string{"\x1b[?1049l", "\x1b[?25h", "\x1b[?1002l", "\x1b[?1006l", "\x1b[?2004l", "\x1b]2;\a", "\x1b[<1u"} {
		if !strings.Contains(last, want) {
			t.Errorf("closing lacks %q: %q", want, last)
		}
	}
	if strings.Index(last, "\x1b[<1u") > strings.Index(last, "\x1b[?1049l") {
		t.Errorf("the kitty keyboard entry was popped after leaving the alternate screen: %q", last)
	}
	term.Offer(frame("after"))
	term.Emit("\x1b]52;c;eA==\a")
	if err := term.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(e.output(), "after") || strings.Contains(e.output(), "eA==") {
		t.Error("a frame or a sequence handed over after Close was written")
	}
}

// TestEmitGoesOutAtOnce: a sequence handed to Emit is written without
// waiting for a frame or the frame period.
func TestEmitGoesOutAtOnce(t *testing.T) {
	e, term := paintedOn(t, 20, 2, "x")
	term.setGap(time.Hour)
	term.Emit("\x1b]52;c;aGk=\a")
	e.waitFor(t, "the clipboard sequence written", func() bool { return strings.Contains(e.output(), "\x1b]52;c;aGk=\a") })
}

// TestModeReports: the terminal's answers to Open's queries take effect
// at once: synchronised output wraps the next frame, and grapheme widths
// (mode 2027) are turned on and the screen repainted, the frame unchanged.
func TestModeReports(t *testing.T) {
	e := newEmulator(20, 2)
	term := openOn(t, e, 60)
	m := term.Wrap(panicky{})
	m.Update(tea.WindowSizeMsg{Width: 20, Height: 2})
	m.View()
	e.waitLines(t, "x")
	mark := len(e.output())
	m.Update(tea.ModeReportMsg{Mode: ansi.ModeUnicodeCore, Value: ansi.ModeReset})
	m.View() // the same frame, as Bubble Tea calls View after every Update
	e.waitFor(t, "mode 2027 turned on", func() bool { return strings.Contains(e.since(mark), ansi.SetModeUnicodeCore) })
	m.Update(tea.ModeReportMsg{Mode: ansi.ModeSynchronizedOutput, Value: ansi.ModeReset})
	mark = len(e.output())
	term.Offer(frame("y"))
	e.waitLines(t, "y")
	got := e.since(mark)
	if !strings.HasPrefix(got, ansi.SetModeSynchronizedOutput) || !strings.HasSuffix(got, ansi.ResetModeSynchronizedOutput) {
		t.Errorf("the frame after the report is not wrapped in synchronised output: %q", got)
	}
}

// blockingWriter takes nothing until released: a terminal that stalled.
type blockingWriter struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	<-b.release
	return len(p), nil
}

// TestStalledTerminal: a terminal that takes no output holds up neither
// Offer (the program's loop) nor, past closeWait, Close, which says so
// and still gives the input its modes back.
func TestStalledTerminal(t *testing.T) {
	pp := openPty(t)
	tty := pp.tty
	w := &blockingWriter{entered: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(w.release)
	term, err := Open(tty, w, nil, 60)
	if err != nil {
		t.Fatal(err)
	}
	term.Resize(20, 2)
	term.Offer(frame("x"))
	<-w.entered
	term.Offer(frame("y")) // returns: the write is not under the lock Offer takes
	if err := term.Close(); !errors.Is(err, ErrPainting) {
		t.Fatalf("Close = %v, want ErrPainting", err)
	}
	pp.checkRestored(t, "the input's modes were not given back")
}

// panicWriter panics on its first write.
type panicWriter struct{ once sync.Once }

func (p *panicWriter) Write(b []byte) (int, error) {
	p.once.Do(func() { panic("injected: paint") })
	return len(b), nil
}

// TestPaintPanicEndsProgram: a panic in the paint loop does not end the
// process (the local console shares it with the engine): the program is
// ended, Close says why, and the input gets its modes back.
func TestPaintPanicEndsProgram(t *testing.T) {
	pp := openPty(t)
	tty := pp.tty
	term, err := Open(tty, &panicWriter{}, nil, 60)
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan struct{})
	term.mu.Lock()
	term.onFailure = func() { close(ended) } // what Watch sets: the program's Kill
	term.mu.Unlock()
	term.Resize(20, 2)
	term.Offer(frame("x"))
	select {
	case <-ended:
	case <-time.After(30 * time.Second):
		t.Fatal("the program was not ended after the paint loop panicked")
	}
	if err := term.Close(); !errors.Is(err, ErrPainting) || !strings.Contains(err.Error(), "injected: paint") {
		t.Fatalf("Close = %v, want ErrPainting with the panic", err)
	}
	pp.checkRestored(t, "the input's modes were not given back")
}

// TestNewlineTranslation: newlines are written as the output terminal will
// take them: translated while it is cooked, not once raw, and never where
// the output is not a terminal.
func TestNewlineTranslation(t *testing.T) {
	pp := openPty(t)
	tty := pp.tty
	if !translatesNewlines(int(tty.Fd())) {
		t.Error("a cooked pty does not translate newlines, says translatesNewlines")
	}
	term, err := Open(tty, tty, nil, 60)
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	if translatesNewlines(int(tty.Fd())) {
		t.Error("a raw pty translates newlines, says translatesNewlines")
	}
	if translatesNewlines(-1) {
		t.Error("no terminal translates newlines, says translatesNewlines")
	}
}

// TestRawModeAndBack: on a real pseudo-terminal Open turns off line
// editing and echo, and Close restores the terminal's modes exactly.
func TestRawModeAndBack(t *testing.T) {
	pp := openPty(t)
	ptmx, tty := pp.ptmx, pp.tty
	go func() { _, _ = io.Copy(io.Discard, ptmx) }()
	term, err := Open(tty, tty, nil, 24)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if raw.Lflag&(unix.ICANON|unix.ECHO) != 0 {
		t.Errorf("not raw after Open: lflag %#x", raw.Lflag)
	}
	if err := term.Close(); err != nil {
		t.Fatal(err)
	}
	pp.checkRestored(t, "after Close")
}

// panicky panics in whatever step is named.
type panicky struct{ in string }

func (p panicky) Init() tea.Cmd {
	if p.in == "init" {
		panic("injected: init")
	}
	return nil
}

func (p panicky) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if _, ok := msg.(tea.KeyPressMsg); !ok {
		return p, nil
	}
	switch p.in {
	case "update":
		panic("injected: update")
	case "command":
		return p, tea.Batch(func() tea.Msg { return nil }, func() tea.Msg { panic("injected: command") })
	}
	return p, nil
}

func (p panicky) View() tea.View {
	if p.in == "view" {
		panic("injected: view")
	}
	return frame("x")
}

// TestPanicGivesTerminalBackFirst: a panic in Init, Update, View, or a
// command inside a batch Update returns gives the terminal back (modes
// undone, input restored) before it goes on, with its value unchanged, to
// Bubble Tea's recovery, which prints it.
func TestPanicGivesTerminalBackFirst(t *testing.T) {
	for _, where := range []string{"init", "update", "view", "command"} {
		t.Run(where, func(t *testing.T) {
			pp := openPty(t)
			e, term := ptyPainted(t, pp)
			m := term.Wrap(panicky{in: where})
			got := func() (r any) {
				defer func() { r = recover() }()
				if where == "init" {
					m.Init()
				}
				if where == "view" {
					m.View()
				}
				_, cmd := m.Update(tea.KeyPressMsg{Code: 'j'})
				for cmd != nil { // run the commands as Bubble Tea would, batches included
					msg := cmd()
					cmd = nil
					if b, ok := msg.(tea.BatchMsg); ok {
						for _, c := range b {
							c()
						}
					}
				}
				return nil
			}()
			if got != "injected: "+where {
				t.Fatalf("recovered %v, want the injected panic", got)
			}
			if !strings.Contains(e.output(), "\x1b[?1049l") {
				t.Error("the alternate screen was not left before the panic went on")
			}
			pp.checkRestored(t, "the input's modes were not given back before the panic went on")
		})
	}
}

// TestSuspendAndResume: a stop from job control (SIGTSTP) gives the
// terminal back first (the frame's modes undone, the alternate screen
// left, the input's modes restored) and paints nothing while stopped; the
// resume (SIGCONT) makes the input raw again and enters everything afresh,
// as the shell may have changed the modes meanwhile.
func TestSuspendAndResume(t *testing.T) {
	pp := openPty(t)
	e, term := ptyPainted(t, pp)
	stopped, cont := make(chan struct{}), make(chan struct{})
	term.stop = func() { close(stopped); <-cont } // what stopSelf does: the process stops here
	term.stoppable = func() bool { return true }  // under go test, the group is the go command's
	mark := len(e.output())
	go term.suspend()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("the process was never stopped")
	}
	given := e.since(mark)
	for _, want := range []string{"\x1b[?1049l", "\x1b[?2004l", "\x1b[?1002l", "\x1b[<1u"} {
		if !strings.Contains(given, want) {
			t.Errorf("before stopping, %q was not written: %q", want, given)
		}
	}
	pp.checkRestored(t, "while stopped")
	term.Offer(frame("while stopped"))
	term.mu.Lock()
	stoppedFlag := term.stopped
	term.mu.Unlock()
	if !stoppedFlag {
		t.Error("the painter does not know it is stopped")
	}
	close(cont)
	mark = len(e.output())
	term.resume()
	e.waitLines(t, "while stopped")
	again := e.since(mark)
	for _, want := range []string{"\x1b[?1049h", "\x1b[?2004h", "\x1b[?1002h"} {
		if !strings.Contains(again, want) {
			t.Errorf("after the resume, %q was not written again: %q", want, again)
		}
	}
	if pp.modes(t).Lflag&(unix.ICANON|unix.ECHO) != 0 {
		t.Error("the input is not raw after the resume")
	}
}
