package fleet_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/supervisor"
	st "github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// workers counts the service's worker goroutines in the process.
func workers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "fleet.(*service).work(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// burst sends n pings at once through c and fails t unless each is
// answered.
func burst(t *testing.T, c *fleet.Client, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := c.Ping(context.Background(), "p"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// TestServiceWorkersEnd: after a burst, no more workers wait than the
// bound; stop ends every one, and so does the connection closing.
func TestServiceWorkersEnd(t *testing.T) {
	srv := startServer(t)
	c := fleet.NewClient(fleet.ClientOptions{Conn: srv.connect(t), Subjects: subjectsOf("h1")})
	f := newFake()
	f.deadlines = make(chan time.Duration, 1000)
	stop := serve(t, srv.connect(t), f, subjectsOf("h1"), nil)
	burst(t, c, 40)
	st.WaitUntil(t, "at most the bound of workers left waiting", 20*time.Second, func() bool { return workers() <= fleet.MaxIdleWorkers })
	if workers() == 0 {
		t.Fatal("no worker kept waiting after a burst")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// stop waited for them: what is left is at most a goroutine on its way out.
	st.WaitUntil(t, "no worker after stop", 20*time.Second, func() bool { return workers() == 0 })

	nc := srv.connect(t)
	serve(t, nc, f, subjectsOf("h2"), nil)
	burst(t, fleet.NewClient(fleet.ClientOptions{Conn: srv.connect(t), Subjects: subjectsOf("h2")}), 40)
	nc.Close()
	st.WaitUntil(t, "no worker once the service's connection closed", 20*time.Second, func() bool { return workers() == 0 })
}

// TestServiceStopsUnderLoad: requests arriving while the service stops
// are answered, or refused as closed, or find no responders; none waits
// for its timeout, and stop leaves no worker behind.
func TestServiceStopsUnderLoad(t *testing.T) {
	srv := startServer(t)
	f := newFake()
	f.deadlines = make(chan time.Duration, 1<<16)
	stop := serve(t, srv.connect(t), f, subjectsOf("h1"), nil)
	c := fleet.NewClient(fleet.ClientOptions{Conn: srv.connect(t), Subjects: subjectsOf("h1")})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				_, err := c.Ping(ctx, "p")
				if errors.Is(err, fleet.ErrNoResponders) {
					return // the service is gone
				}
				if err != nil && !errors.Is(err, supervisor.ErrClosed) {
					t.Errorf("a ping while the service stops: %v", err)
					return
				}
			}
		})
	}
	burst(t, c, 4) // the service is busy
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatal("a request waited for its timeout")
	}
	st.WaitUntil(t, "no worker after stop", 20*time.Second, func() bool { return workers() == 0 })
}

// TestServiceWorkerKeepsNoRequestState: a worker serving one request after
// another gives each its own deadline, and a request that timed out leaves
// no ended context to the next.
func TestServiceWorkerKeepsNoRequestState(t *testing.T) {
	srv := startServer(t)
	f := newFake()
	serve(t, srv.connect(t), f, subjectsOf("h1"), func(o *fleet.ServiceOptions) { o.Timeout = 5 * time.Minute })
	c := fleet.NewClient(fleet.ClientOptions{Conn: srv.connect(t), Subjects: subjectsOf("h1")})
	for i := range 6 { // one after another: the same worker, once it waits
		short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		r, err := c.SendTask(short, supervisor.TaskRequest{Plugin: "stall", ID: uint32(i)})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || r.Outcome == supervisor.OutcomeAnswered {
			t.Fatalf("a task past its timeout: %+v, %v", r, err)
		}
		if d := <-f.deadlines; d > time.Second {
			t.Fatalf("a task with 100ms to go had %v", d)
		}
		r, err = c.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "p", ID: uint32(i)})
		if err != nil || r.Outcome != supervisor.OutcomeAnswered {
			t.Fatalf("the task after one that timed out: %+v, %v", r, err)
		}
		if d := <-f.deadlines; d < 10*time.Second {
			t.Fatalf("a task with the client's default timeout after one with 100ms had %v", d)
		}
	}
}
