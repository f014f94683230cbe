package tui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// panicChildEnv makes this test binary the console that panics, on the
// pseudo-terminal its parent test holds (see TestMain).
const panicChildEnv = "PV_TEST_PANIC_CHILD"

// panicky is the real supervisor with one fault injected: its n-th
// Snapshot panics, inside a console command.
type panicky struct {
	supervisor.API
	mu    sync.Mutex
	calls int
}

func (p *panicky) Snapshot(ctx context.Context) ([]supervisor.PluginStatus, error) {
	p.mu.Lock()
	p.calls++
	n := p.calls
	p.mu.Unlock()
	if n == 2 {
		panic("injected: snapshot failed")
	}
	return p.API.Snapshot(ctx)
}

// panicChild runs the console on its own stdin/stdout, a terminal, against
// a real supervisor whose second snapshot panics, and reports what Run
// returned on descriptor 3.
func panicChild() int {
	dir, err := os.MkdirTemp("", "pv")
	if err != nil {
		return 2
	}
	defer os.RemoveAll(dir)
	cfg, err := registry.Parse(filepath.Join(dir, "config.toml"), []byte(supervisortest.AgentTOML(dir, nil)))
	if err != nil {
		return 2
	}
	sup, err := supervisor.New(supervisor.Options{Config: cfg})
	if err != nil {
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = sup.Run(ctx); close(done) }()
	<-sup.Ready()
	err = Run(context.Background(), &panicky{API: sup}, Options{Theme: "dark"})
	fmt.Fprintf(os.NewFile(3, "report"), "%t|%v", errors.Is(err, tea.ErrProgramPanic), err)
	cancel()
	<-done
	return 0
}

// TestRunRestoresTerminalAfterPanic runs the console in a child process on
// a pseudo-terminal, makes it panic, and checks that Run reports it and that
// the terminal is back in its original (cooked, echoing) mode, out of the
// alternate screen.
//
// A child process because Bubble Tea v2.0.10 closes its input reader after
// a panic without waiting for the reader goroutine, a data race inside the
// library that the race detector reports now and then. The child's race
// reports are read: any that is not in that shutdown path fails the test.
func TestRunRestoresTerminalAfterPanic(t *testing.T) {
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
	report, reportW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer report.Close()
	var stderr bytes.Buffer
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), panicChildEnv+"=1", "GORACE=exitcode=0")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, &stderr
	cmd.ExtraFiles = []*os.File{reportW}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reportW.Close()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("console child: %v\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the console did not return after the panic")
	}
	got, _ := readAll(report)
	if !strings.HasPrefix(got, "true|") {
		t.Fatalf("Run = %q, want a panic error", got)
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
	// The child has exited; its last bytes (leaving the alternate screen) may
	// still be on their way to the reader.
	var screen string
	testutil.Until(10*time.Second, func() bool {
		outMu.Lock()
		screen = out.String()
		outMu.Unlock()
		return strings.Contains(screen, "\x1b[?1049l")
	})
	if !strings.Contains(screen, "\x1b[?1049h") || !strings.Contains(screen, "\x1b[?1049l") {
		t.Errorf("alternate screen not entered and left; output tail: %q", tail(screen, 200))
	}
	for _, race := range strings.Split(stderr.String(), "WARNING: DATA RACE")[1:] {
		if !strings.Contains(race, "cancelreader") {
			t.Errorf("a data race outside Bubble Tea's post-panic shutdown:\n%s", race)
		}
	}
}

func readAll(f *os.File) (string, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(f)
	return b.String(), err
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
