package sandbox

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// OnThread runs fn on a goroutine locked to an OS thread of its own, never
// the main thread, and returns when fn does. The goroutine exits still
// locked, so the runtime ends the thread rather than reuse it: whatever fn
// did to it (RestrictThread) dies with it. A plugin started from fn must be
// waited for inside fn, since the thread that forked it is its parent for
// Pdeathsig.
func OnThread(fn func()) {
	done := make(chan struct{})
	go runLocked(fn, done)
	<-done
}

// runLocked locks the goroutine to its thread and runs fn there, unless that
// is the main thread. Then it keeps the main thread while a new goroutine
// starts, which therefore cannot be scheduled on it, and lets go once that
// one has locked a thread of its own.
func runLocked(fn func(), done chan<- struct{}) {
	runtime.LockOSThread()
	if unix.Gettid() != unix.Getpid() {
		defer close(done)
		fn()
		return
	}
	locked := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		close(locked)
		defer close(done)
		fn()
	}()
	<-locked
	runtime.UnlockOSThread()
}
