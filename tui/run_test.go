package tui

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/plugvisor/plugvisor/supervisor"
)

// panicky is the real supervisor with one fault injected: its n-th
// Snapshot panics, inside a console command.
type panicky struct {
	supervisor.API
	mu    sync.Mutex
	calls int
}

func (p *panicky) Snapshot() []supervisor.PluginStatus {
	p.mu.Lock()
	p.calls++
	n := p.calls
	p.mu.Unlock()
	if n == 2 {
		panic("injected: snapshot failed")
	}
	return p.API.Snapshot()
}

// TestRunRestoresTerminalAfterPanic runs the console on a pseudo-terminal,
// makes it panic, and checks that Run reports it and that the terminal is
// back in its original (cooked, echoing) mode, out of the alternate screen.
func TestRunRestoresTerminalAfterPanic(t *testing.T) {
	r := startRig(t, false)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Cols: 100, Rows: 30}); err != nil {
		t.Fatal(err)
	}
	before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var outMu sync.Mutex
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			outMu.Lock()
			out.Write(buf[:n])
			outMu.Unlock()
			if err != nil {
				return
			}
		}
	}()

	// After a recovered panic Bubble Tea's input reader may still be reading
	// its input for a moment, and Run does not wait for it: give it a
	// descriptor of its own that this test never closes, so closing tty
	// cannot race that goroutine.
	inFD, err := unix.Dup(int(tty.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	input := os.NewFile(uintptr(inFD), "tty-input")
	opts := Options{Theme: "dark", program: []tea.ProgramOption{tea.WithInput(input), tea.WithOutput(tty)}}
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), &panicky{API: r.sup}, opts) }()
	var runErr error
	select {
	case runErr = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after the panic")
	}
	if !errors.Is(runErr, tea.ErrProgramPanic) {
		t.Fatalf("Run = %v, want a panic error", runErr)
	}
	after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag {
		t.Errorf("terminal modes not restored: lflag %#x → %#x, iflag %#x → %#x", before.Lflag, after.Lflag, before.Iflag, after.Iflag)
	}
	if after.Lflag&(unix.ICANON|unix.ECHO) != unix.ICANON|unix.ECHO {
		t.Errorf("terminal left without line editing or echo: lflag %#x", after.Lflag)
	}
	time.Sleep(100 * time.Millisecond) // let the last bytes reach the reader
	outMu.Lock()
	got := out.String()
	outMu.Unlock()
	if !bytes.Contains([]byte(got), []byte("\x1b[?1049h")) || !bytes.Contains([]byte(got), []byte("\x1b[?1049l")) {
		t.Errorf("alternate screen not entered and left; output tail: %q", tail(got, 200))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
