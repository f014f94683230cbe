package screen

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/creack/pty"

	"github.com/plugvisor/plugvisor/internal/testutil"
)

// TestUrgencyGoesWithTheInputsFrame: input makes urgent the frame that
// answers it (the next one offered, as View follows Update), not whatever
// is pending when the input comes: a paint of the frame already pending
// (its period ended; here an Emit wakes the loop, the same path) between
// the input and the answer's Offer does not leave the answer to wait a
// whole period (an hour here).
func TestUrgencyGoesWithTheInputsFrame(t *testing.T) {
	e, term := paintedOn(t, 20, 2, "one")
	term.setGap(time.Hour)
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

// TestStalledCloseClosesThePainter: a Close that gives up on a stalled
// terminal still closes the painter: frames and sequences handed over
// after it are not taken, so nothing is painted on the operator's shell
// once the terminal takes output again.
func TestStalledCloseClosesThePainter(t *testing.T) {
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

// TestResumeEntersAfresh: a resume (SIGCONT) after a stop this process
// did not see coming (SIGSTOP, bg) writes the frame's modes again, not
// only its cells, as the shell had the terminal meanwhile (bash's
// readline turns bracketed paste off on fg, and a paste would then arrive
// as keys); but the screen is still entered, so the alternate screen is
// not entered again (that would save the cursor over the shell's) and the
// kitty keyboard entry is set, not pushed: pushes and pops stay balanced,
// however many times it comes.
func TestResumeEntersAfresh(t *testing.T) {
	e, term := paintedOn(t, 20, 2, "x")
	for range 2 {
		mark := len(e.output())
		term.resume() // SIGCONT
		e.waitFor(t, "the repaint after resume", func() bool { return strings.Contains(e.since(mark), "\x1b[?1002h") })
		got := e.since(mark)
		for _, want := range []string{"\x1b[?2004h", "\x1b[?1002h", "\x1b[=1;1u"} {
			if !strings.Contains(got, want) {
				t.Errorf("the repaint after SIGCONT does not turn %q back on: %q", want, got)
			}
		}
	}
	if err := term.Close(); err != nil {
		t.Fatal(err)
	}
	out := e.output()
	pushes := len(regexp.MustCompile(`\x1b\[>\d+u`).FindAllString(out, -1))
	pops := len(regexp.MustCompile(`\x1b\[<\d*u`).FindAllString(out, -1))
	if pushes != pops {
		t.Errorf("kitty keyboard flags pushed %d times, popped %d times: %q", pushes, pops, out)
	}
	if n := strings.Count(out, "\x1b[?1049h"); n != 1 {
		t.Errorf("the alternate screen (with its cursor save) entered %d times", n)
	}
}

// TestCloseAfterHangup: a terminal hung up under the console (an ssh
// session gone) is no error of Close's: it has no modes left to give back.
func TestCloseAfterHangup(t *testing.T) {
	pp := openPty(t)
	_, term := ptyPainted(t, pp)
	pp.ptmx.Close() // the hangup
	if err := term.Close(); err != nil {
		t.Errorf("Close after a hangup = %v", err)
	}
}

// TestNoResumeAfterClose: a SIGCONT taken just before Close (signal.Stop
// does not take it back) does not make the terminal raw again after Close
// gave it its modes back.
func TestNoResumeAfterClose(t *testing.T) {
	pp := openPty(t)
	term, err := Open(pp.tty, io.Discard, nil, 60)
	if err != nil {
		t.Fatal(err)
	}
	if err := term.Close(); err != nil {
		t.Fatal(err)
	}
	term.resume() // the SIGCONT the watch goroutine took before Close
	pp.checkRestored(t, "a resume after Close")
}

// TestResizeBeforeWatchIsSent: a resize between ProgramOptions (the size
// the program starts with) and Watch reaches the program.
func TestResizeBeforeWatchIsSent(t *testing.T) {
	pp := openPty(t)
	ptmx, tty := pp.ptmx, pp.tty
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

// TestWriteErrorEndsProgram: a write error, after which nothing more is
// painted, ends the program (a console the operator cannot see must not
// go on taking keys) and Close says why.
func TestWriteErrorEndsProgram(t *testing.T) {
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
