package supervisor

import (
	"os/exec"

	"github.com/plugvisor/plugvisor/internal/sandbox"
)

// forker is an OS thread that forks processes, one at a time, and does
// nothing else: a child's Pdeathsig is tied to the thread that forked it,
// and a Landlock domain or v1 cgroups taken on by that thread are the
// child's from its first instruction. The thread is never the main one
// and is never unlocked (sandbox.OnThread): when the forker closes, its
// goroutine returns locked and the runtime destroys the thread with what
// it took on, and nothing else ever runs there to take it down earlier.
//
// The supervisor has one shared forker, which lives until the supervisor
// closes, for every instance that needs no thread of its own, and one per
// instance that does (see home). It only forks: exits are watched on the
// poller (watchExit), so a forker is free again as soon as its child has
// started.
type forker struct {
	jobs  chan forkJob
	ended chan struct{} // the thread is gone
}

// forkJob is one process to start from the forker's thread.
type forkJob struct {
	cmd     *exec.Cmd
	kids    *children
	started chan error
}

// newForker starts the thread, runs settle on it before any fork and
// returns settle's error, after which the thread is gone.
func newForker(settle func() error) (*forker, error) {
	f := &forker{jobs: make(chan forkJob), ended: make(chan struct{})}
	ready := make(chan error, 1)
	go sandbox.OnThread(func() {
		defer close(f.ended)
		err := settle()
		ready <- err
		if err == nil {
			f.serve()
		}
	})
	if err := <-ready; err != nil {
		<-f.ended
		return nil, err
	}
	return f, nil
}

func (f *forker) serve() {
	for j := range f.jobs {
		var err error
		j.kids.start(func() int {
			if err = j.cmd.Start(); err != nil {
				return 0
			}
			return j.cmd.Process.Pid
		})
		j.started <- err
	}
}

// fork starts cmd from the forker's thread, recorded in kids, and returns
// once it started.
func (f *forker) fork(cmd *exec.Cmd, kids *children) error {
	j := forkJob{cmd: cmd, kids: kids, started: make(chan error, 1)}
	f.jobs <- j
	return <-j.started
}

// close ends the thread; the children it forked get their Pdeathsig, so
// call it once none is running.
func (f *forker) close() {
	close(f.jobs)
	<-f.ended
}
