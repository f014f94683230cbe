package screen

import (
	"bytes"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
	"golang.org/x/sys/unix"
)

// Offer hands the Terminal the program's newest frame. A frame equal to the
// last one offered costs a comparison; any other is painted by the paint
// loop, at once if the last paint is a frame period old, else when it is.
// Frames offered in between replace each other: only the newest is painted.
//
// Bubble Tea calls View, and so Offer, after every message: a frame equal
// to the last after input means the input changed nothing on screen, and
// the frame that follows owes it nothing.
func (t *Terminal) Offer(v tea.View) {
	v.WindowTitle = printable(v.WindowTitle)
	t.mu.Lock()
	// The first frame offered after input is the one that answers it
	// (View follows Update in the program's loop): the urgency goes with
	// it, so that no paint in between can take it.
	input := t.input
	t.input = false
	if t.closed || sameView(t.newest(), &v) {
		if t.pending == nil {
			t.urgent = input && t.erase // a resize to the same frame: repaint it at once
		} else if input {
			t.urgent = true
		}
		due := !t.closed && (input || t.erase || len(t.seqs) > 0)
		t.mu.Unlock()
		if due {
			t.poke()
		}
		return
	}
	t.pending = &v
	if input {
		t.urgent = true
	}
	t.mu.Unlock()
	t.poke()
}

// newest is the frame the terminal will show once pending is painted.
func (t *Terminal) newest() *tea.View {
	if t.pending != nil {
		return t.pending
	}
	return t.painted
}

func (t *Terminal) poke() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Resize makes the next paint a full one at the new size. It does not
// wake the loop: the frame the program draws for the new size, offered
// next, does, and an old frame is not painted clipped to the new size
// first.
func (t *Terminal) Resize(w, h int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.w, t.h = w, h
	t.r.Resize(w, h)
	t.erase = true
}

// SetColorProfile sets the colours frames are painted in (Bubble Tea
// detects the profile and says so in a tea.ColorProfileMsg).
func (t *Terminal) SetColorProfile(p colorprofile.Profile) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.r.SetColorProfile(p)
	t.erase = true
}

// modeReport takes the terminal's answer to the queries Open sent.
func (t *Terminal) modeReport(m tea.ModeReportMsg) {
	defer t.poke() // a new width method repaints at once, changed frame or not
	t.mu.Lock()
	defer t.mu.Unlock()
	switch m.Mode {
	case ansi.ModeSynchronizedOutput:
		if m.Value == ansi.ModeReset {
			t.syncd = true
		}
	case ansi.ModeUnicodeCore:
		if m.Value == ansi.ModeReset || m.Value == ansi.ModeSet || m.Value == ansi.ModePermanentlySet {
			if t.cells.Method != ansi.GraphemeWidth {
				t.seqs = append(t.seqs, ansi.SetModeUnicodeCore...)
				t.cells.Method = ansi.GraphemeWidth
				t.erase = true
			}
		}
	}
}

// loop paints pending frames, no two within a frame period unless the
// operator's input asked for the second, and sleeps while there are none.
func (t *Terminal) loop() {
	defer close(t.ended)
	defer func() {
		// Nothing above this goroutine would recover a panic: the process
		// (with the engine a local console runs in) would die with the
		// terminal raw. Say why and end the program; Close, from Run, then
		// gives the terminal back.
		if r := recover(); r != nil {
			t.fail(fmt.Errorf("%w: %v\n%s", ErrPainting, r, debug.Stack()))
		}
	}()
	// When the last paint began, and the last one input asked for: frames
	// keep a steady period, which input shortens (wait).
	var last, lastInput time.Time
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-t.quit:
			return
		case <-t.wake:
		}
		urgent, wait := t.wait(last, lastInput)
		for wait > 0 {
			timer.Reset(wait)
			select {
			case <-t.quit:
				timer.Stop()
				return
			case <-timer.C:
			case <-t.wake: // input may have made the frame urgent
				timer.Stop()
			}
			urgent, wait = t.wait(last, lastInput)
		}
		start := time.Now()
		out, painted, suspended := t.paint()
		t.write(out)
		if suspended != nil {
			close(suspended) // the screen is given back: the process may stop
		}
		if painted {
			last = start
			if urgent {
				lastInput = start
			}
		}
	}
}

// inputGap is the least time between two frames painted at once for
// input: 50 a second, more than a key held down repeats at, so every key
// an operator types or repeats is painted as it comes, while a storm of
// events (a fast trackpad's wheel) is painted at most this often.
const inputGap = 20 * time.Millisecond

// wait says whether the pending frame answers input and how long it must
// wait for its paint: the rest of the frame period, or, for a frame that
// answers input, the rest of inputGap since the last such frame when that
// is sooner (nothing, for input after a pause).
func (t *Terminal) wait(last, lastInput time.Time) (urgent bool, wait time.Duration) {
	t.mu.Lock()
	urgent, queued, gap := t.urgent, len(t.seqs) > 0, t.gap
	t.mu.Unlock()
	if queued {
		return false, 0 // a sequence from Emit goes out at once
	}
	wait = gap - time.Since(last)
	if urgent {
		if w := min(gap, inputGap) - time.Since(lastInput); w < wait {
			return true, w
		}
	}
	return false, wait
}

// Input says the operator pressed, clicked, scrolled or pasted: the frame
// that answers it is painted at once, not at the end of the frame period
// as frames that follow from the plugins' traffic are (at most one such
// frame each inputGap).
func (t *Terminal) Input() {
	t.mu.Lock()
	t.input = true
	t.mu.Unlock()
}

// paint renders the pending frame, or only the pending sequences, into the
// bytes to write, and says whether a frame was painted. It holds t.mu; the
// write happens after, without it, so that a terminal slow to take its
// bytes holds up the painting only, never Offer and the program's loop.
//
// A stop asked for (suspend) is taken here, so that the bytes that give
// the screen back follow every frame and none follows them: suspended is
// then closed by the loop once they are written.
func (t *Terminal) paint() (out []byte, painted bool, suspended chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.suspendAsked != nil && !t.closed {
		suspended, t.suspendAsked = t.suspendAsked, nil
		if t.werr == nil { // else the terminal takes nothing: stop all the same
			out = t.restoreModes()
		}
		// Back from the stop, everything is entered afresh: the shell had
		// the terminal meanwhile.
		if t.pending == nil {
			t.pending = t.painted
		}
		t.painted, t.stopped = nil, true
		return out, false, suspended
	}
	if t.closed || t.werr != nil {
		return nil, false, nil
	}
	if t.stopped {
		return nil, false, nil
	}
	v := t.pending
	if v == nil && t.erase && t.painted != nil {
		v = t.painted // a resize or a new profile: paint the same frame again
	}
	if v == nil || t.w <= 0 || t.h <= 0 {
		return t.take(nil), false, nil
	}
	t.pending, t.urgent = nil, false
	var head bytes.Buffer
	switch {
	case t.painted == nil:
		t.enter(&head, v, false)
	case t.again:
		t.enter(&head, v, true)
	default:
		t.switchModes(t.painted, v)
	}
	t.draw(v)
	t.painted, t.again = v, false
	return t.take(head.Bytes()), true, nil
}

// enter turns on what the first frame needs: the alternate screen (written
// ahead of everything else, as it has its own cursor and keyboard state)
// and the frame's modes.
//
// Again (the screen still entered, its modes perhaps changed by a shell
// while the process was stopped from outside) writes the modes without
// entering the alternate screen a second time, which would save the
// cursor over the shell's, and sets the kitty keyboard entry instead of
// pushing another.
func (t *Terminal) enter(head *bytes.Buffer, v *tea.View, again bool) {
	if again {
		head.WriteString(ansi.ResetModeTextCursorEnable)
	} else {
		head.WriteString(ansi.ResetModifyOtherKeys + ansi.SetModeAltScreenSaveCursor + ansi.ResetModeTextCursorEnable)
		t.r.SaveCursor()
		t.r.SetFullscreen(true)
		t.r.SetRelativeCursor(false)
	}
	t.erase = true
	if !v.DisableBracketedPasteMode {
		t.writeR(ansi.SetModeBracketedPaste)
	}
	if v.ReportFocus {
		t.writeR(ansi.SetModeFocusEvent)
	}
	t.writeR(mouseMode(tea.MouseModeNone, v.MouseMode))
	if v.WindowTitle != "" {
		t.writeR(ansi.SetWindowTitle(v.WindowTitle))
	}
	flags := keyboardFlags(v.KeyboardEnhancements)
	if again {
		t.writeR(ansi.SetModifyOtherKeys2 + ansi.KittyKeyboard(flags, 1))
		return
	}
	t.writeR(ansi.SetModifyOtherKeys2 + ansi.PushKittyKeyboard(flags) + ansi.RequestKittyKeyboard)
}

// switchModes writes what changes between the modes of two frames.
func (t *Terminal) switchModes(was, v *tea.View) {
	if was.DisableBracketedPasteMode != v.DisableBracketedPasteMode {
		t.writeR(pick(v.DisableBracketedPasteMode, ansi.ResetModeBracketedPaste, ansi.SetModeBracketedPaste))
	}
	if was.ReportFocus != v.ReportFocus {
		t.writeR(pick(v.ReportFocus, ansi.SetModeFocusEvent, ansi.ResetModeFocusEvent))
	}
	if was.MouseMode != v.MouseMode {
		t.writeR(mouseMode(was.MouseMode, v.MouseMode))
	}
	if was.WindowTitle != v.WindowTitle {
		t.writeR(ansi.SetWindowTitle(v.WindowTitle))
	}
	if was.KeyboardEnhancements != v.KeyboardEnhancements {
		t.writeR(ansi.KittyKeyboard(keyboardFlags(v.KeyboardEnhancements), 1))
	}
}

// draw renders v's content into the renderer's buffer: only the cells that
// differ from the terminal's, unless a full redraw is due.
func (t *Terminal) draw(v *tea.View) {
	area := uv.Rect(0, 0, t.w, t.h)
	if area != t.cells.Bounds() {
		t.cells.Touched = nil
		t.cells.Resize(t.w, t.h)
		t.erase = true
	}
	if t.erase {
		t.r.Erase()
		t.erase = false
	}
	t.cells.Clear()
	uv.NewStyledString(v.Content).Draw(t.cells, t.cells.Bounds())
	t.r.Render(t.cells.RenderBuffer)
	showCursor := v.Cursor != nil
	if showCursor {
		t.r.MoveTo(v.Cursor.X, v.Cursor.Y)
	}
	if was := t.painted; was == nil || (was.Cursor != nil) != showCursor {
		t.writeR(pick(showCursor, ansi.SetModeTextCursorEnable, ansi.ResetModeTextCursorEnable))
	}
	_ = t.r.Flush() // into rbuf
}

// take is head, the queued sequences and what the renderer produced, as
// one write, wrapped in synchronised output when the terminal has it; the
// queue and the renderer's output are emptied. t.mu is held.
func (t *Terminal) take(head []byte) []byte {
	body := t.rbuf.Bytes()
	defer t.rbuf.Reset()
	if len(head)+len(t.seqs)+len(body) == 0 {
		return nil
	}
	out := make([]byte, 0, len(head)+len(t.seqs)+len(body)+16)
	out = append(out, head...)
	out = append(out, t.seqs...)
	if len(body) > 0 && t.syncd {
		out = append(out, ansi.SetModeSynchronizedOutput...)
		out = append(out, body...)
		out = append(out, ansi.ResetModeSynchronizedOutput...)
	} else {
		out = append(out, body...)
	}
	t.seqs = t.seqs[:0]
	return out
}

// write writes out to the terminal. Only the paint loop writes, and Close
// once the loop has ended, so writes never overlap. The first error stops
// all painting: a terminal that is gone takes nothing more.
func (t *Terminal) write(out []byte) {
	if len(out) == 0 {
		return
	}
	if _, err := t.out.Write(out); err != nil {
		t.mu.Lock()
		first := t.werr == nil
		if first {
			t.werr = fmt.Errorf("screen: writing to the terminal: %w", err)
		}
		t.mu.Unlock()
		if first {
			t.fail(fmt.Errorf("%w: the terminal took no more output", ErrPainting))
		}
	}
}

// writeR queues s in the renderer's output, in order with the cells.
func (t *Terminal) writeR(s string) { _, _ = t.r.WriteString(s) }

// newRenderer starts the cell renderer afresh.
func (t *Terminal) newRenderer(p colorprofile.Profile) {
	r := uv.NewTerminalRenderer(&t.rbuf, t.env)
	r.SetColorProfile(p)
	r.SetTabStops(-1)
	// Raw mode on the input's terminal also turns off the output's newline
	// translation when they are one terminal; where the output is a
	// terminal still translating, newlines are written as it will take them.
	r.SetMapNewline(translatesNewlines(t.outFd))
	r.SetScrollOptim(true)
	r.SetRelativeCursor(true)
	r.SetFullscreen(false)
	t.r = r
}

// translatesNewlines says whether fd is a terminal that turns each
// newline written into a carriage return and a newline.
func translatesNewlines(fd int) bool {
	if fd < 0 {
		return false
	}
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil && tio.Oflag&unix.OPOST != 0 && tio.Oflag&unix.ONLCR != 0
}

// mouseMode is what switches the terminal's mouse reporting from was to v.
func mouseMode(was, v tea.MouseMode) string {
	off := ""
	switch {
	case was == v:
		return ""
	case was == tea.MouseModeAllMotion:
		off = ansi.ResetModeMouseAnyEvent
	case was == tea.MouseModeCellMotion:
		off = ansi.ResetModeMouseButtonEvent
	}
	switch v {
	case tea.MouseModeCellMotion:
		return off + ansi.SetModeMouseButtonEvent + ansi.SetModeMouseExtSgr
	case tea.MouseModeAllMotion:
		return off + ansi.SetModeMouseAnyEvent + ansi.SetModeMouseExtSgr
	}
	return off + ansi.ResetModeMouseExtSgr
}

// keyboardFlags are the kitty keyboard protocol's flags for ke, as Bubble
// Tea's renderer sets them: key disambiguation always.
func keyboardFlags(ke tea.KeyboardEnhancements) int {
	flags := ansi.KittyDisambiguateEscapeCodes
	if ke.ReportEventTypes {
		flags |= ansi.KittyReportEventTypes
	}
	if ke.ReportAlternateKeys {
		flags |= ansi.KittyReportAlternateKeys
	}
	if ke.ReportAllKeysAsEscapeCodes {
		flags |= ansi.KittyReportAllKeysAsEscapeCodes
	}
	if ke.ReportAssociatedText {
		flags |= ansi.KittyReportAssociatedKeys
	}
	return flags
}

// sameView says whether painting b over a would change nothing.
func sameView(a, b *tea.View) bool {
	if a == nil || b == nil {
		return false
	}
	if a.Content != b.Content || a.MouseMode != b.MouseMode || a.WindowTitle != b.WindowTitle ||
		a.ReportFocus != b.ReportFocus || a.DisableBracketedPasteMode != b.DisableBracketedPasteMode ||
		a.KeyboardEnhancements != b.KeyboardEnhancements || (a.Cursor == nil) != (b.Cursor == nil) {
		return false
	}
	return a.Cursor == nil || (a.Cursor.X == b.Cursor.X && a.Cursor.Y == b.Cursor.Y)
}

// printable is s without control characters (C0, DEL, C1): a window
// title is written inside an OSC sequence, and part of it (an engine's
// name) may come from the network.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}

func pick(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}
