package screen

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/creack/pty"
	"github.com/hinshun/vt10x"
	"golang.org/x/sys/unix"
)

// emulator is a terminal emulator the Terminal paints on: every write is
// fed to it and kept, and each one is announced on writes.
type emulator struct {
	mu     sync.Mutex
	vt     vt10x.Terminal
	all    bytes.Buffer
	writes chan []byte
}

func newEmulator(w, h int) *emulator {
	return &emulator{vt: vt10x.New(vt10x.WithSize(w, h)), writes: make(chan []byte, 64)}
}

func (e *emulator) Write(p []byte) (int, error) {
	e.mu.Lock()
	_, _ = e.vt.Write(p)
	e.all.Write(p)
	e.mu.Unlock()
	e.writes <- append([]byte(nil), p...)
	return len(p), nil
}

// next is the next write; a deadline only against a hang.
func (e *emulator) next(t *testing.T) []byte {
	t.Helper()
	select {
	case b := <-e.writes:
		return b
	case <-time.After(30 * time.Second):
		t.Fatal("no write to the terminal")
		return nil
	}
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

// TestPaintsOnlyChanges: the first frame enters the alternate screen with
// the frame's modes and is painted whole; an equal frame is not painted
// at all; a changed one is painted as the cells that changed.
func TestPaintsOnlyChanges(t *testing.T) {
	e := newEmulator(30, 4)
	term := openOn(t, e, 60)
	term.Resize(30, 4)
	term.Offer(frame("alpha line\nbeta line"))
	first := string(e.next(t))
	for _, want := range []string{"\x1b[?1049h", "\x1b[?25l", "\x1b[?1002h", "\x1b[?1006h", "\x1b[?2004h", "\x1b]2;pv\a", "\x1b[>1u"} {
		if !strings.Contains(first, want) {
			t.Errorf("first paint lacks %q: %q", want, first)
		}
	}
	if got := e.line(0) + "|" + e.line(1); got != "alpha line|beta line" {
		t.Fatalf("screen = %q", got)
	}
	term.Offer(frame("alpha line\nbeta line"))
	term.mu.Lock()
	pending := term.pending
	term.mu.Unlock()
	if pending != nil {
		t.Fatal("an unchanged frame is pending a paint")
	}
	term.Offer(frame("alpha line\nbeta LINE"))
	second := string(e.next(t))
	if strings.Contains(second, "alpha") || strings.Contains(second, "\x1b[?1049h") {
		t.Errorf("the second paint repainted more than the change: %q", second)
	}
	if got := e.line(1); got != "beta LINE" {
		t.Fatalf("after the change, line 2 = %q", got)
	}
}

// TestNewestFrameWins: frames offered while a paint waits out its frame
// period replace each other.
func TestNewestFrameWins(t *testing.T) {
	e := newEmulator(20, 2)
	term := openOn(t, e, 60)
	term.Resize(20, 2)
	term.Offer(frame("one"))
	e.next(t)
	term.mu.Lock()
	term.gap = time.Hour // the next paint waits: nothing is painted in this test
	term.mu.Unlock()
	term.Offer(frame("two"))
	term.Offer(frame("three"))
	term.mu.Lock()
	defer term.mu.Unlock()
	if term.pending == nil || term.pending.Content != "three" {
		t.Fatalf("pending = %v, want the newest frame", term.pending)
	}
}

// TestInputFrameAtOnce: the frame that answers input is painted without
// waiting out the frame period.
func TestInputFrameAtOnce(t *testing.T) {
	e := newEmulator(20, 2)
	term := openOn(t, e, 60)
	term.Resize(20, 2)
	term.Offer(frame("before"))
	e.next(t)
	term.mu.Lock()
	term.gap = time.Hour // without the input, the next frame would wait an hour
	term.mu.Unlock()
	term.Wrap(panicky{}).Update(tea.KeyPressMsg{Code: 'j'})
	term.Offer(frame("answer"))
	e.next(t)
	if got := e.line(0); got != "answer" {
		t.Fatalf("screen = %q, want the input's frame", got)
	}
}

// TestResizeRepaintsWhole: after a resize the same frame is painted again,
// whole, at the new size.
func TestResizeRepaintsWhole(t *testing.T) {
	e := newEmulator(20, 3)
	term := openOn(t, e, 60)
	term.Resize(20, 3)
	term.Offer(frame("kept\nacross"))
	e.next(t)
	e.mu.Lock()
	e.vt.Resize(10, 2)
	e.vt.Write([]byte("\x1b[2J"))
	e.mu.Unlock()
	term.Resize(10, 2)
	e.next(t)
	if got := e.line(0) + "|" + e.line(1); got != "kept|across" {
		t.Fatalf("after the resize the screen = %q", got)
	}
}

// TestCloseGivesTerminalBack: Close turns off every mode the frames turned
// on and leaves the alternate screen with the cursor shown.
func TestCloseGivesTerminalBack(t *testing.T) {
	e := newEmulator(20, 2)
	term := openOn(t, e, 60)
	term.Resize(20, 2)
	term.Offer(frame("x"))
	e.next(t)
	if err := term.Close(); err != nil {
		t.Fatal(err)
	}
	last := string(e.next(t))
	for _, want := range []string{"\x1b[?1049l", "\x1b[?25h", "\x1b[?1002l", "\x1b[?1006l", "\x1b[?2004l", "\x1b]2;\a", "\x1b[<1u"} {
		if !strings.Contains(last, want) {
			t.Errorf("closing lacks %q: %q", want, last)
		}
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
// waiting for a frame, and ahead of the next one.
func TestEmitGoesOutAtOnce(t *testing.T) {
	e := newEmulator(20, 2)
	term := openOn(t, e, 60)
	term.Emit("\x1b]52;c;aGk=\a")
	if got := string(e.next(t)); !strings.Contains(got, "\x1b]52;c;aGk=\a") {
		t.Fatalf("emitted %q", got)
	}
}

// TestRawModeAndBack: on a real pseudo-terminal Open turns off line
// editing and echo, and Close restores the terminal's modes exactly.
func TestRawModeAndBack(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	go func() { _, _ = io.Copy(io.Discard, ptmx) }()
	before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
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
	after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if *after != *before {
		t.Errorf("terminal modes not restored: %+v, want %+v", after, before)
	}
}

// panicky panics in whatever step is named.
type panicky struct{ in string }

func (p panicky) Init() tea.Cmd { return nil }
func (p panicky) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch p.in {
	case "update":
		panic("injected: update")
	case "command":
		return p, tea.Batch(func() tea.Msg { return nil }, func() tea.Msg { panic("injected: command") })
	}
	return p, nil
}
func (p panicky) View() tea.View { return frame("x") }

// TestPanicGivesTerminalBackFirst: a panic in Update, or in a command
// inside a batch it returns, closes the Terminal before it goes on, with
// its value unchanged.
func TestPanicGivesTerminalBackFirst(t *testing.T) {
	for _, where := range []string{"update", "command"} {
		t.Run(where, func(t *testing.T) {
			e := newEmulator(20, 2)
			term := openOn(t, e, 60)
			m := term.Wrap(panicky{in: where})
			got := func() (r any) {
				defer func() { r = recover() }()
				_, cmd := m.Update(tea.KeyPressMsg{})
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
			term.mu.Lock()
			closed := term.closed
			term.mu.Unlock()
			if !closed {
				t.Fatal("the terminal was not given back before the panic went on")
			}
		})
	}
}
