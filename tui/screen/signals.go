package screen

import (
	"os"
	"os/signal"
	"syscall"

	tea "charm.land/bubbletea/v2"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// The signals a Terminal takes for the program: the window's size, and job
// control, which without its renderer Bubble Tea leaves to it.

// Watch ties t to p until Close: a change of the output terminal's size is
// sent to p as a tea.WindowSizeMsg (without its renderer Bubble Tea does
// not), a resume after the process was stopped (SIGCONT: the shell gave
// the terminal its own modes meanwhile) makes the input raw again and
// repaints, and if painting fails p is killed, so that Run returns.
func (t *Terminal) Watch(p *tea.Program) {
	// Quit, not Kill: Bubble Tea 2.0.10's Kill closes its input reader
	// without waiting for it (a data race in the library).
	end := func() { p.Quit() }
	t.mu.Lock()
	t.onFailure = end
	failed := t.failed != nil
	t.mu.Unlock()
	if failed {
		go end()
	}
	if t.outFd < 0 && t.inFd < 0 {
		return
	}
	t.mu.Lock()
	w0, h0 := t.given[0], t.given[1] // what the program was told (ProgramOptions)
	t.mu.Unlock()
	signal.Notify(t.sigs, syscall.SIGWINCH, syscall.SIGCONT, syscall.SIGTSTP)
	go t.watch(p, w0, h0)
}

func (t *Terminal) watch(p *tea.Program, w, h int) {
	check := func() {
		if nw, nh, ok := t.size(); ok && (nw != w || nh != h) {
			w, h = nw, nh
			p.Send(tea.WindowSizeMsg{Width: w, Height: h})
		}
	}
	check() // a resize between ProgramOptions and Notify
	for {
		select {
		case <-t.quit:
			return
		case sig := <-t.sigs:
			switch sig {
			case syscall.SIGTSTP:
				t.suspend()
			case syscall.SIGCONT:
				t.resume()
			}
			check()
		}
	}
}

// suspend gives the terminal back and stops the process, as the shell's
// job control asked (SIGTSTP, from ctrl+z where it is not a key, or from
// kill): the paint loop undoes the frame's modes and leaves the alternate
// screen, the input gets its modes back, and the process stops as if the
// signal had not been caught. Bubble Tea's own suspend does the same with
// its renderer, which this one replaces.
//
// Where no shell's job control would continue the process (its process
// group orphaned: plugvisor as a session's own command), the stop is
// refused, as the kernel refuses an uncaught SIGTSTP there.
func (t *Terminal) suspend() {
	if !t.stoppable() {
		return
	}
	given := make(chan struct{})
	t.mu.Lock()
	if t.closed || t.stopped {
		t.mu.Unlock()
		return
	}
	t.suspendAsked = given
	t.mu.Unlock()
	t.poke()
	select {
	case <-given:
	case <-t.quit:
		return
	}
	t.restoreInput()
	t.stop()
	t.resume() // continued: the SIGCONT that did it may be lost behind other signals
}

// jobControlled says whether a shell's job control can continue this
// process once stopped: its parent is in the same session and another
// process group (else the group is orphaned).
func jobControlled() bool {
	ppid := os.Getppid()
	sid, err := unix.Getsid(0)
	if err != nil {
		return false
	}
	psid, err := unix.Getsid(ppid)
	if err != nil {
		return false
	}
	ppg, err := unix.Getpgid(ppid)
	return err == nil && psid == sid && ppg != unix.Getpgrp()
}

// stopSelf stops the process group as an uncaught SIGTSTP would, and
// returns once it is continued. With SIGSTOP: once notified of SIGTSTP,
// Go's runtime keeps its handler even after signal.Reset and would
// swallow a SIGTSTP sent again.
func (t *Terminal) stopSelf() {
	_ = syscall.Kill(0, syscall.SIGSTOP) // stops here, until SIGCONT
}

// resume makes the input raw again and the next paint a full one.
func (t *Terminal) resume() {
	t.mu.Lock()
	defer t.poke()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	if t.saved != nil {
		_, _ = term.MakeRaw(t.inFd) // the state to go back to stays the first one
	}
	// The shell had the terminal meanwhile and may have changed its modes
	// (readline turns bracketed paste off on `fg`): after a stop of ours
	// everything is entered afresh (the frame given back was kept as
	// pending); after one from outside the screen is still entered, and
	// its modes are written again. Idempotent: a second SIGCONT does the
	// second thing once more.
	if t.painted != nil {
		if t.pending == nil {
			t.pending = t.painted
		}
		t.again = true
	}
	t.erase, t.stopped = true, false
}
