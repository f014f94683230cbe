package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
	"github.com/hinshun/vt10x"

	"github.com/plugvisor/plugvisor/internal/testutil"
)

// TestConsoleEndToEnd runs the real plugvisor binary with no configuration
// (so the embedded demo runs) in a real pseudo-terminal, types keys, and
// reads the screen through a terminal emulator: the demo's plugins appear,
// a task sent with t shows its reply, q quits, and no plugin process of the
// run is left behind.
func TestConsoleEndToEnd(t *testing.T) {
	bin := testutil.Bin("plugvisor")
	tmp, home := shortTemp(t, "pve")

	cmd := exec.Command(bin)
	cmd.Env = demoEnv(home, tmp)
	term := startInPty(t, cmd, 120, 40)

	term.waitFor(t, "ticker", "echo.0", "echo.1", "chaos")
	term.waitScreen(t, "the demo's plugins running", func(s string) bool { return strings.Contains(s, "● running") })

	// The first screen shows a plugin with output: ticker, saying its ticks.
	term.waitScreen(t, "ticker selected first, its log pane saying its ticks", func(s string) bool {
		return strings.Contains(lineWith(s, "1 Logs"), "ticker") && strings.Contains(s, `msg="tick sent"`)
	})
	// chaos says what it is about to do.
	term.send(t, "g")
	term.waitScreen(t, "chaos saying it will crash", func(s string) bool {
		return strings.Contains(lineWith(s, "1 Logs"), "chaos") && strings.Contains(s, "crashing on purpose")
	})
	// Select echo.0 (rows are sorted: chaos, echo.0, echo.1, ticker).
	term.send(t, "j")
	term.waitScreen(t, "echo.0 selected", func(s string) bool {
		return strings.Contains(lineWith(s, "1 Logs"), "echo.0")
	})
	term.waitScreen(t, "echo.0 running", func(s string) bool { return strings.Contains(lineWith(s, "1 Logs"), "running") })
	term.send(t, "t")
	term.waitFor(t, "Send a task to echo.0")
	term.send(t, "hi from a pty")
	term.waitFor(t, "hi from a pty")
	term.send(t, "\r")
	term.waitFor(t, "echo.0 answered task 1 in", "content=hi from a pty")

	term.quitStopping(t)
	waitNoLeftovers(t, cmd.Process.Pid, tmp)
}

// quitStopping answers q, then y to the question whether to stop the
// running plugins, and waits for plugvisor to exit cleanly.
func (v *vterm) quitStopping(t *testing.T) {
	t.Helper()
	v.send(t, "q")
	v.waitFor(t, "Stop them and quit?")
	v.send(t, "y")
	if err := v.wait(60 * time.Second); err != nil {
		t.Fatalf("plugvisor did not exit cleanly: %v\nlast screen:\n%s", err, v.screen())
	}
}

// demoEnv is the environment of a fresh machine: an empty home and config
// dir and no PLUGVISOR_CONFIG, so plugvisor runs its embedded demo, with
// temporary files (the demo's work dir) under tmp.
// shortTemp is a temporary directory with a private home in it, removed
// after the test: short (under /tmp, not t.TempDir's long path), since the
// demo's sockets live under it and a socket path is limited to 107 bytes.
func shortTemp(t testing.TB, prefix string) (tmp, home string) {
	t.Helper()
	tmp, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	home = filepath.Join(tmp, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	return tmp, home
}

func demoEnv(home, tmp string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "PLUGVISOR_CONFIG", "HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "TMPDIR", "TERM", "NO_COLOR":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_STATE_HOME="+filepath.Join(home, ".state"), "TMPDIR="+tmp, "TERM=xterm-256color")
}

// vterm is a program in a pseudo-terminal whose output is fed to a terminal
// emulator.
type vterm struct {
	pty  *os.File
	vt   vt10x.Terminal
	cmd  *exec.Cmd
	done chan error
	mu   sync.Mutex // serialises writes to the emulator with reads of its screen
	osc  oscScanner // the OSC sequences of the byte stream, which the emulator drops
}

func startInPty(t testing.TB, cmd *exec.Cmd, cols, rows int) *vterm {
	t.Helper()
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
	if err != nil {
		t.Fatalf("starting in a pty: %v", err)
	}
	v := &vterm{pty: f, cmd: cmd, done: make(chan error, 1)}
	// The emulator answers the program's queries (cursor position, device
	// attributes) through the pty, as a real terminal would.
	v.vt = vt10x.New(vt10x.WithSize(cols, rows), vt10x.WithWriter(f))
	go v.pump()
	go func() { v.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		f.Close()
	})
	return v
}

func (v *vterm) pump() {
	buf := make([]byte, 32<<10)
	var tail []byte // a character cut by the end of the last read
	for {
		n, err := v.pty.Read(buf)
		if n > 0 {
			v.mu.Lock()
			tail = v.feed(append(tail, buf[:n]...))
			v.osc.scan(buf[:n])
			v.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// feed writes p to the emulator but for a UTF-8 character cut at its end,
// which it returns to go before the next read. vt10x drops the bytes of a
// character split across two writes (and the cursor does not move), so a
// read ending inside a "●" or "─" left a wrong cell and shifted the rest
// of its line until the program redrew it: the screen no longer showed
// what the program drew, and a key's effect looked lost.
func (v *vterm) feed(p []byte) []byte {
	cut := wholeRunes(p)
	_, _ = v.vt.Write(p[:cut])
	return append([]byte(nil), p[cut:]...)
}

// wholeRunes is the length of p without a UTF-8 sequence cut at its end.
func wholeRunes(p []byte) int {
	for i := len(p) - 1; i >= 0 && i >= len(p)-utf8.UTFMax; i-- {
		switch c := p[i]; {
		case c < utf8.RuneSelf: // ASCII: nothing cut after it
			return len(p)
		case utf8.RuneStart(c):
			if utf8.FullRune(p[i:]) {
				return len(p)
			}
			return i
		}
	}
	return len(p)
}

func (v *vterm) screen() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.vt.String() // String takes the emulator's own lock
}

// send types keys. A lone Esc goes as the kitty keyboard protocol's
// CSI 27 u, which Bubble Tea reads as esc whatever it asked the terminal
// for: a bare ESC byte followed within the input reader's 50 ms escape
// timeout by the next key (the next send, a few microseconds later) is
// read as alt+key, which no binding matches, so that key was lost. A
// person cannot type that fast; a test does every time.
func (v *vterm) send(t testing.TB, keys string) {
	t.Helper()
	if keys == "\x1b" {
		keys = escKey
	}
	if _, err := io.WriteString(v.pty, keys); err != nil {
		t.Fatalf("typing %q: %v", keys, err)
	}
}

// escKey is Esc, unambiguous: see send.
const escKey = "\x1b[27u"

// waitScreen polls the emulated screen. The deadline only bounds a hung
// test; it asserts nothing about speed.
func (v *vterm) waitScreen(t testing.TB, what string, cond func(string) bool) {
	t.Helper()
	var s string
	if !testutil.Until(30*time.Second, func() bool {
		if s = v.screen(); cond(s) {
			return true
		}
		select {
		case err := <-v.done:
			t.Fatalf("plugvisor exited (%v) while waiting for %s; last screen:\n%s", err, what, s)
		default:
		}
		return false
	}) {
		t.Fatalf("screen never showed %s; last screen:\n%s", what, s)
	}
}

func (v *vterm) waitFor(t testing.TB, want ...string) {
	t.Helper()
	v.waitScreen(t, fmt.Sprintf("%q", want), func(s string) bool {
		for _, w := range want {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	})
}

func (v *vterm) wait(d time.Duration) error {
	select {
	case err := <-v.done:
		return err
	case <-time.After(d):
		return errors.New("timed out")
	}
}

func lineWith(screen, marker string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, marker) {
			return l
		}
	}
	return ""
}

// waitNoLeftovers waits until no process of the run remains: none whose
// parent is plugvisor, and none carrying the run's environment (its TMPDIR,
// which every descendant inherits, or a plugin socket under it), since
// orphans are re-parented and lose the link to plugvisor's pid.
func waitNoLeftovers(t *testing.T, pid int, tmp string) {
	t.Helper()
	var left []string
	if !testutil.Until(15*time.Second, func() bool { left = leftovers(pid, tmp); return len(left) == 0 }) {
		t.Fatalf("processes left after plugvisor exited: %v", left)
	}
}

func leftovers(pid int, tmp string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil || p == os.Getpid() {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 2 {
			continue
		}
		env, _ := os.ReadFile("/proc/" + e.Name() + "/environ")
		ofRun := strings.Contains(string(env), "PLUGVISOR_SOCKET="+tmp) || strings.Contains(string(env), "\x00TMPDIR="+tmp+"\x00")
		if fields[1] == strconv.Itoa(pid) || ofRun {
			out = append(out, fmt.Sprintf("%d (%s)", p, strings.TrimSpace(s[:strings.LastIndexByte(s, ')')+1])))
		}
	}
	return out
}
