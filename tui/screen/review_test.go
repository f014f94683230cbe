package screen

// Review: tests that show what is still wrong. Each fails on the code as
// it stands; the comment says what it shows and the fix.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/plugvisor/plugvisor/internal/testutil"
)

// TestReviewUrgencyTakenByPeriodPaint: a key's urgency is kept in one
// flag that any paint clears. Input() is called before the model's
// Update; if the paint loop paints the frame already pending (its period
// ended: here an Emit wakes it, the same path) between Input() and the
// Offer of the key's frame, the key's frame then waits a whole period.
// In the console that is up to 42 ms a key whenever Update+View overlaps
// the end of a period under traffic; here (gap an hour) it is never.
func TestReviewUrgencyTakenByPeriodPaint(t *testing.T) {
	e := newEmulator(20, 2)
	term := openOn(t, e, 60)
	term.Resize(20, 2)
	term.Offer(frame("one"))
	e.waitLines(t, "one")
	term.mu.Lock()
	term.gap = time.Hour
	term.mu.Unlock()
	term.Offer(frame("traffic")) // a frame from the plugins' traffic, waiting out its period

	term.Input()                  // a key: Wrap's Update, before the model's Update
	term.Emit("\x1b]52;c;eA==\a") // meanwhile the loop paints (the period of "traffic" ends)
	e.waitLines(t, "traffic")     // painted, and with it the key's urgency cleared
	term.Offer(frame("answer"))   // the key's own frame, from View
	e.waitLines(t, "answer")      // waits the hour
}

// stallWriter stalls its first write until released and keeps what is
// written after it.
type stallWriter struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	later   bytes.Buffer
	wrote   chan struct{}
}

func (s *stallWriter) Write(p []byte) (int, error) {
	first := false
	s.once.Do(func() { first = true })
	if first {
		close(s.entered)
		<-s.release
		return len(p), nil
	}
	s.mu.Lock()
	s.later.Write(p)
	s.mu.Unlock()
	select {
	case s.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

// TestReviewStalledCloseLeavesPainterOpen: when Close gives up on a
// stalled terminal it never sets t.closed, so frames and sequences handed
// over after Close are still taken, and once the terminal takes output
// again the paint loop (if its select picks wake over quit, half the
// time) paints them, after Close returned and the input's modes were
// given back; the local console's process (the engine) lives on, so this
// lands on the operator's shell. Fix: in the timeout branch set
// t.closed = true under t.mu before returning (and have the loop check
// quit, non-blocking, before each paint).
func TestReviewStalledCloseLeavesPainterOpen(t *testing.T) {
	w := &stallWriter{entered: make(chan struct{}), release: make(chan struct{}), wrote: make(chan struct{}, 1)}
	in, _ := io.Pipe()
	term, err := Open(in, w, nil, 60)
	if err != nil {
		t.Fatal(err)
	}
	term.Resize(20, 2)
	term.Offer(frame("x"))
	<-w.entered
	if err := term.Close(); !errors.Is(err, ErrPainting) {
		t.Fatalf("Close = %v, want ErrPainting", err)
	}
	term.Offer(frame("after-close"))
	term.Emit("\x1b]52;c;eA==\a")
	term.mu.Lock()
	pending, queued := term.pending, len(term.seqs)
	term.mu.Unlock()
	close(w.release)
	<-term.ended
	w.mu.Lock()
	t.Logf("written after Close returned: %q", w.later.String())
	w.mu.Unlock()
	if (pending != nil && pending.Content == "after-close") || queued > 0 {
		t.Fatalf("after Close gave up, a frame (%v) and %d bytes of sequences were still taken for painting", pending != nil, queued)
	}
}

// TestReviewResumeReassertsModes: on SIGCONT (resume) only the cells are
// repainted; the frame's modes are not written again. A shell that had
// the terminal meanwhile changes them: bash's readline turns bracketed
// paste off when it accepts `fg`, so after `fg` a paste reaches the
// console as keys (in tmux: a pasted "?" opens the help; a pasted
// "x", "r" or "q" stops, restarts or quits). Fix: on resume set
// t.painted = nil (keep t.pending or the painted frame as pending) so the
// next paint goes through enter() again: ?1049h, bracketed paste, focus,
// mouse, title, kitty push; better, catch SIGTSTP and give the terminal
// back before stopping (what Bubble Tea's suspend does), so the shell is
// not left on the alternate screen with mouse reporting on and no cursor.
func TestReviewResumeReassertsModes(t *testing.T) {
	e := newEmulator(20, 2)
	term := openOn(t, e, 60)
	term.Resize(20, 2)
	term.Offer(frame("x"))
	e.waitLines(t, "x")
	mark := len(e.output())
	term.resume() // SIGCONT
	e.waitFor(t, "the repaint after resume", func() bool { return len(e.since(mark)) > 0 })
	got := e.since(mark)
	for _, want := range []string{"\x1b[?2004h", "\x1b[?1002h", "\x1b[?1049h"} {
		if !strings.Contains(got, want) {
			t.Errorf("the repaint after SIGCONT does not turn %q back on: %q", want, got)
		}
	}
}

// TestReviewResumeAfterCloseLeavesRaw: the watch goroutine may have taken
// a SIGCONT from t.sigs just before Close (signal.Stop does not take it
// back) and run resume after Close's restoreInput: MakeRaw then leaves the
// terminal raw after the console ended. Close does not wait for the watch
// goroutine, and resume does not check closed. Fix: resume takes t.mu,
// returns if t.closed (or a flag Close sets first), and restoreInput
// takes the same lock; or Close waits for the watch goroutine to return
// before restoreInput.
func TestReviewResumeAfterCloseLeavesRaw(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	term, err := Open(tty, io.Discard, nil, 60)
	if err != nil {
		t.Fatal(err)
	}
	if err := term.Close(); err != nil {
		t.Fatal(err)
	}
	term.resume() // the SIGCONT the watch goroutine took before Close
	after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if *after != *before {
		t.Errorf("the terminal is raw again after Close: lflag %#x, want %#x", after.Lflag, before.Lflag)
	}
}

// TestReviewResizeBeforeWatch: Watch compares later sizes with the size
// it reads itself, not with the size ProgramOptions gave the program, so
// a resize between the two (in tui.Run: between newProgram and Watch) is
// never sent. Fix: remember in t the size ProgramOptions returned and
// start watch from it.
func TestReviewResizeBeforeWatch(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Cols: 20, Rows: 3}); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, ptmx) }()
	term, err := Open(tty, tty, []string{"TERM=xterm-256color"}, 60)
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	opts := term.ProgramOptions() // 20x3
	if err := pty.Setsize(ptmx, &pty.Winsize{Cols: 30, Rows: 5}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := tea.NewProgram(term.Wrap(counter{}), append([]tea.ProgramOption{tea.WithContext(ctx),
		tea.WithInput(tty), tea.WithOutput(tty), tea.WithoutSignals()}, opts...)...)
	term.Watch(p)
	ran := make(chan error, 1)
	go func() { _, err := p.Run(); ran <- err }()
	defer func() {
		_, _ = ptmx.Write([]byte("q")) // quit as the operator would: Kill does not wait for Bubble Tea's reader
		<-ran
	}()
	testutil.WaitUntil(t, "the program told of the 30x5 terminal", 10*time.Second, func() bool {
		term.mu.Lock()
		defer term.mu.Unlock()
		return term.w == 30 && term.h == 5
	})
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write(p []byte) (int, error) { return 0, errors.New("injected: EIO") }

// TestReviewWriteErrorEndsProgram: a write error stops all painting but
// neither records a failure nor ends the program (only a panic or Close's
// timeout do): the console runs on with its screen frozen, answering keys
// the operator cannot see, and Run reports the error only if the program
// then ends cleanly. Fix: in write, on the first error, call
// t.fail(fmt.Errorf("%w: %v", ErrPainting, err)) (or keep werr but call
// onFailure).
func TestReviewWriteErrorEndsProgram(t *testing.T) {
	in, _ := io.Pipe()
	term, err := Open(in, failWriter{}, nil, 60)
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	ended := make(chan struct{})
	term.mu.Lock()
	term.onFailure = func() { close(ended) }
	term.mu.Unlock()
	term.Resize(20, 2)
	term.Offer(frame("x"))
	testutil.WaitUntil(t, "the write error recorded", 10*time.Second, func() bool {
		term.mu.Lock()
		defer term.mu.Unlock()
		return term.werr != nil
	})
	term.mu.Lock()
	failed := term.failed
	term.mu.Unlock()
	if failed == nil {
		t.Fatal("painting stopped on a write error, but the program is not ended (no failure recorded, onFailure not called)")
	}
	<-ended
}
