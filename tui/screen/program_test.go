package screen

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/creack/pty"

	"github.com/plugvisor/plugvisor/internal/testutil"
)

// counter counts j presses and quits on q.
type counter struct{ n int }

func (c counter) Init() tea.Cmd { return nil }

func (c counter) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "j":
			c.n++
		case "q":
			return c, tea.Quit
		}
	}
	return c, nil
}

func (c counter) View() tea.View { return frame(fmt.Sprintf("n=%d", c.n)) }

// TestProgramOnPty runs a real Bubble Tea program painted by a Terminal
// on a pseudo-terminal, as tui.Run does: its first frame is painted, keys
// typed on the terminal reach it through Bubble Tea's own input reader
// (raw mode is the Terminal's), the terminal's answer to the synchronised
// output query takes effect, and on quitting the terminal is as it was.
func TestProgramOnPty(t *testing.T) {
	pp := openPty(t)
	ptmx, tty := pp.ptmx, pp.tty
	if err := pty.Setsize(ptmx, &pty.Winsize{Cols: 20, Rows: 3}); err != nil {
		t.Fatal(err)
	}
	e := newEmulator(20, 3)
	go func() { _, _ = io.Copy(e, ptmx) }()

	term, err := Open(tty, tty, []string{"TERM=xterm-256color"}, 60)
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := tea.NewProgram(term.Wrap(counter{}), append([]tea.ProgramOption{tea.WithContext(ctx),
		tea.WithInput(tty), tea.WithOutput(tty), tea.WithoutSignals()}, term.ProgramOptions()...)...)
	term.Watch(p)
	ran := make(chan error, 1)
	go func() { _, err := p.Run(); ran <- err }()

	e.waitLines(t, "n=0")
	if !strings.Contains(e.output(), ansi.RequestModeSynchronizedOutput) {
		t.Errorf("synchronised output was not asked about: %q", e.output())
	}
	type1 := func(s string) {
		t.Helper()
		if _, err := ptmx.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	type1("j")
	e.waitLines(t, "n=1")
	type1("\x1b[?2026;2$y") // the terminal: mode 2026 known, reset
	term.waitSynced(t)
	mark := len(e.output())
	type1("j")
	e.waitLines(t, "n=2")
	if got := e.since(mark); !strings.Contains(got, ansi.SetModeSynchronizedOutput) {
		t.Errorf("the frame after the answer is not in synchronised output: %q", got)
	}
	type1("q")
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("program: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the program did not quit on q")
	}
	if err := term.Close(); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, "the alternate screen left", func() bool { return strings.Contains(e.output(), "\x1b[?1049l") })
	pp.checkRestored(t, "the terminal's modes were not given back")
}

// waitSynced waits until the Terminal has taken the terminal's answer
// about synchronised output.
func (t *Terminal) waitSynced(tb testing.TB) {
	tb.Helper()
	testutil.WaitUntil(tb, "the answer about synchronised output taken", 30*time.Second, func() bool {
		t.mu.Lock()
		defer t.mu.Unlock()
		return t.syncd
	})
}
