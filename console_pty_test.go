package main

import (
	"encoding/base64"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/creack/pty"
	"github.com/hinshun/vt10x"

	"github.com/plugvisor/plugvisor/internal/testutil"
)

// oscScanner collects the OSC sequences (ESC ] … BEL or ESC \) of a byte
// stream read in pieces, each cut at maxOSC bytes and at most maxOSCs
// kept: what the program asked of the terminal beyond drawing, such as
// OSC 52's clipboard.
type oscScanner struct {
	state int // 0 text, 1 after ESC, 2 in an OSC, 3 ESC in an OSC
	cur   []byte
	seqs  []string
}

const (
	maxOSC  = 64 << 10
	maxOSCs = 256
)

func (o *oscScanner) scan(p []byte) {
	for _, c := range p {
		switch o.state {
		case 0:
			if c == 0x1b {
				o.state = 1
			}
		case 1:
			o.state = 0
			if c == ']' {
				o.state, o.cur = 2, o.cur[:0]
			} else if c == 0x1b {
				o.state = 1
			}
		case 2:
			switch c {
			case 0x07:
				o.end()
			case 0x1b:
				o.state = 3
			default:
				if len(o.cur) < maxOSC {
					o.cur = append(o.cur, c)
				}
			}
		case 3:
			if c == '\\' {
				o.end()
			} else {
				o.state = 2
			}
		}
	}
}

func (o *oscScanner) end() {
	o.state = 0
	if len(o.seqs) < maxOSCs {
		o.seqs = append(o.seqs, string(o.cur))
	}
}

// oscs is every OSC sequence the program has written so far.
func (v *vterm) oscs() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.osc.seqs...)
}

// clipboard is the text an OSC 52 sequence ("52;c;BASE64") sets.
func clipboard(osc string) (string, bool) {
	rest, ok := strings.CutPrefix(osc, "52;")
	if !ok {
		return "", false
	}
	_, data, ok := strings.Cut(rest, ";")
	if !ok || data == "?" {
		return "", false
	}
	b, err := base64.StdEncoding.DecodeString(data)
	return string(b), err == nil
}

// cell is the emulator's glyph at column x, row y.
func (v *vterm) cell(x, y int) vt10x.Glyph {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.vt.Lock()
	defer v.vt.Unlock()
	return v.vt.Cell(x, y)
}

// resize changes the terminal's size as a window would: the emulator's,
// then the pty's, which signals the program (SIGWINCH).
func (v *vterm) resize(t testing.TB, cols, rows int) {
	t.Helper()
	v.mu.Lock()
	v.vt.Resize(cols, rows)
	resetTabStops(v.vt, cols)
	v.mu.Unlock()
	if err := pty.Setsize(v.pty, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)}); err != nil {
		t.Fatalf("resizing the pty to %dx%d: %v", cols, rows, err)
	}
}

// resetTabStops puts a tab stop every 8 columns, as a terminal has them.
// vt10x's resize, growing, sets the new columns' stops in the slice it
// has just replaced, so past the old width there were none: a tab the
// renderer sent to move the cursor there went to the last column, and
// the characters it wrote after it landed on the wrong cells (wrapping to
// the next row), which the program never redraws. It is written through
// the parser: ESC \ first ends any sequence a read left open (the
// program's repaint after SIGWINCH, a whole erase and redraw, mends what
// that cut), the cursor is saved and restored around the stops.
func resetTabStops(vt vt10x.Terminal, cols int) {
	var b strings.Builder
	b.WriteString("\x1b\\\x1b7\x1b[3g")
	for x := 8; x < cols; x += 8 {
		fmt.Fprintf(&b, "\x1b[1;%dH\x1bH", x+1)
	}
	b.WriteString("\x1b8")
	_, _ = vt.Write([]byte(b.String()))
}

// TestPtyResizeKeepsTabStops: after a terminal grows, a tab past its old
// width stops at the next multiple of 8, not at the last column.
func TestPtyResizeKeepsTabStops(t *testing.T) {
	vt := vt10x.New(vt10x.WithSize(40, 2))
	for _, cols := range []int{10, 40} {
		vt.Resize(cols, 2)
		resetTabStops(vt, cols)
	}
	_, _ = vt.Write([]byte("\x1b[2;25H\tX"))
	if c := vt.Cell(32, 1).Char; c != 'X' {
		t.Fatalf("a tab from column 24 went elsewhere than 32: row %q", strings.Split(vt.String(), "\n")[1])
	}
	if x, y := vt.Cursor().X, vt.Cursor().Y; x != 33 || y != 1 {
		t.Errorf("cursor at %d,%d after X, want 33,1", x, y)
	}
}

// waitScreenOf waits for cond and returns the screen that met it.
func (v *vterm) waitScreenOf(t testing.TB, what string, cond func(string) bool) string {
	t.Helper()
	var got string
	v.waitScreen(t, what, func(s string) bool {
		if cond(s) {
			got = s
			return true
		}
		return false
	})
	return got
}

// TestOSCScanner: sequences split across reads, ended by BEL or ST, are
// found whole; text around them is not taken.
func TestOSCScanner(t *testing.T) {
	var o oscScanner
	for _, p := range []string{"ab\x1b]52;c;aGk=", "\x07cd\x1b", "]0;title\x1b", "\\\x1b[1mx"} {
		o.scan([]byte(p))
	}
	if len(o.seqs) != 2 || o.seqs[0] != "52;c;aGk=" || o.seqs[1] != "0;title" {
		t.Fatalf("scanned %q", o.seqs)
	}
	if s, ok := clipboard(o.seqs[0]); !ok || s != "hi" {
		t.Errorf("clipboard of %q: %q %v", o.seqs[0], s, ok)
	}
}

// TestPtyEscThenKey: Esc then another key, typed back to back as a test
// types them, are two keys: help closes and 5 opens the Events tab. Sent
// as a bare ESC byte, the pair arrived in one read within Bubble Tea's
// 50 ms escape timeout and was read as alt+5, and both keys were lost.
func TestPtyEscThenKey(t *testing.T) {
	tmp, home := shortTemp(t, "pve")
	cmd := exec.Command(testutil.Bin("plugvisor"))
	cmd.Env = demoEnv(home, tmp)
	term := startInPty(t, cmd, 120, 40)
	term.waitFor(t, "ticker", "● running")
	for range 3 {
		term.send(t, "?")
		term.waitFor(t, "? or esc closes")
		term.send(t, "\x1b")
		term.send(t, "5")
		term.waitScreen(t, "help closed and the Events tab", func(s string) bool {
			return !strings.Contains(s, "? or esc closes") && strings.Contains(s, "starting → ● running")
		})
		term.send(t, "1")
		term.waitScreen(t, "the Logs tab", func(s string) bool { return !strings.Contains(s, "starting → ● running") })
	}
	term.quitStopping(t)
	waitNoLeftovers(t, cmd.Process.Pid, tmp)
}

// TestPtyFeedSplitRunes: output read in pieces that cut characters in
// two reaches the emulator whole; the bytes were dropped before.
func TestPtyFeedSplitRunes(t *testing.T) {
	v := &vterm{vt: vt10x.New(vt10x.WithSize(20, 2))}
	want := "a●b─c•d"
	var tail []byte
	for _, b := range []byte(want) {
		tail = v.feed(append(tail, b))
	}
	if got := strings.TrimSpace(strings.Split(v.vt.String(), "\n")[0]); got != want || len(tail) != 0 {
		t.Fatalf("screen %q (tail %q), want %q", got, tail, want)
	}
}
