package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/sdk"
	"github.com/plugvisor/plugvisor/sdk/sdktest"
)

// taskPlugin is the stateful surface: a type with Info, Run and RegisterTasks.
type taskPlugin struct{}

func (taskPlugin) Info() sdk.Info                       { return sdk.Info{Name: "tasks"} }
func (taskPlugin) Run(_ sdk.Sink, s *sdk.Session) error { s.Wait(); return nil }

func (taskPlugin) RegisterTasks(r *sdk.Router) {
	r.Handle(1, func(_ context.Context, t sdk.Task, s sdk.Sink) error {
		if err := s.Progress(t, sdk.Fields{"data_type": "step", "n": "1"}); err != nil {
			return err
		}
		return s.Reply(t, sdk.Fields{"data_type": "answer", "content": t.Content})
	})
	r.Handle(2, func(context.Context, sdk.Task, sdk.Sink) error { return errors.New("cannot do that") })
	r.Handle(3, func(context.Context, sdk.Task, sdk.Sink) error { panic("handler blew up") })
	r.Handle(4, func(context.Context, sdk.Task, sdk.Sink) error { return nil })
	r.Handle(5, func(_ context.Context, t sdk.Task, s sdk.Sink) error {
		if err := s.Reply(t, sdk.Fields{"data_type": "first"}); err != nil {
			return err
		}
		second := s.Reply(t, sdk.Fields{"data_type": "second"})
		progress := s.Progress(t, sdk.Fields{"data_type": "late"})
		return s.Emit(sdk.Fields{"data_type": "double", "second": errText(second), "progress": errText(progress)})
	})
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestTasks(t *testing.T) {
	sv := sdktest.New(t)
	sv.Start(taskPlugin{})
	c := sv.Connect()

	tok := c.Task(1, "hi")
	r := c.WaitReply(tok)
	if len(r.Progress) != 1 || r.Progress[0].DataType() != "step" || r.Progress[0].Token != tok {
		t.Errorf("progress = %+v, want one step record with the token", r.Progress)
	}
	if r.Status() != protocol.StatusOK || r.Final.DataType() != "answer" || r.Final.Fields["content"] != "hi" || r.Final.Token != tok {
		t.Errorf("final = %+v", r.Final)
	}

	cases := []struct {
		id               uint32
		dataType, status string
		errorText        string
	}{
		{2, "task_error", protocol.StatusError, "cannot do that"},
		{3, "task_error", protocol.StatusError, "panic: handler blew up"},
		{4, "task_done", protocol.StatusOK, ""},
		{9, "task_error", protocol.StatusError, "no handler for task id 9 (known: 1, 2, 3, 4, 5)"},
	}
	for _, tc := range cases {
		r := c.WaitReply(c.Task(tc.id, ""))
		f := r.Final.Fields
		if f["data_type"] != tc.dataType || r.Status() != tc.status || f["error"] != tc.errorText {
			t.Errorf("task %d: final = %v, want data_type %s, status %s, error %q", tc.id, f, tc.dataType, tc.status, tc.errorText)
		}
	}

	// After a panic the plugin still answers.
	if r := c.WaitReply(c.Task(1, "again")); r.Final.Fields["content"] != "again" {
		t.Errorf("after panic: final = %v", r.Final.Fields)
	}

	r = c.WaitReply(c.Task(5, ""))
	if r.Final.DataType() != "first" {
		t.Errorf("task 5 final = %v, want the first reply", r.Final.Fields)
	}
	d := c.WaitType("double", 1)[0].Fields
	if d["second"] == "" || d["progress"] == "" {
		t.Errorf("a second Reply and a Progress after the reply must fail: %v", d)
	}
}

func TestTaskConcurrency(t *testing.T) {
	sv := sdktest.New(t)
	// Handlers hold until all of them run at once, which only works if each
	// task has its own goroutine; with a limit of 4 the fifth waits its turn.
	const n = 4
	arrived, release := make(chan struct{}, n+1), make(chan struct{})
	app := sdk.New("conc").HandleDefault(func(_ context.Context, t sdk.Task, s sdk.Sink) error {
		arrived <- struct{}{}
		<-release
		return s.Reply(t, sdk.Fields{"data_type": "ok"})
	})
	sv.Start(app, sdk.WithMaxInFlight(n))
	c := sv.Connect()
	var toks []string
	for i := range n + 1 {
		toks = append(toks, c.Task(uint32(i), ""))
	}
	for range n {
		<-arrived
	}
	select {
	case <-arrived:
		t.Fatal("more handlers running than WithMaxInFlight allows")
	default:
	}
	// The read loop is not blocked by busy handlers: pings are answered.
	c.WaitPong(c.Ping())
	close(release)
	for _, tok := range toks {
		if r := c.WaitReply(tok); r.Status() != protocol.StatusOK {
			t.Errorf("%s: %v", tok, r.Final.Fields)
		}
	}
}

// quickReply waits for the final record of token for at most d: for replies
// the SDK must send at once, where sdktest.Timeout would hide a delay.
func quickReply(t *testing.T, c *sdktest.Conn, token string, d time.Duration) protocol.Record {
	t.Helper()
	var reply protocol.Record
	testutil.WaitUntil(t, "the reply to "+token, d, func() bool {
		recs, _ := c.Records()
		for _, r := range recs {
			if _, final := r.Fields[protocol.FieldTaskStatus]; final && r.Token == token {
				reply = r
				return true
			}
		}
		return false
	})
	return reply
}

// PROTOCOL §6.4: a task whose id has no handler is answered at once, not
// after the busy handlers ahead of it.
func TestUnknownTaskAnsweredWhileHandlersBusy(t *testing.T) {
	sv := sdktest.New(t)
	release := make(chan struct{})
	app := sdk.New("busy").Handle(1, func(_ context.Context, tk sdk.Task, s sdk.Sink) error {
		<-release
		return nil
	})
	sv.Start(app, sdk.WithMaxInFlight(1))
	c := sv.Connect()
	running, waiting := c.Task(1, ""), c.Task(1, "")
	r := quickReply(t, c, c.Task(9, ""), 5*time.Second)
	if r.Fields["task_status"] != protocol.StatusError || r.Fields["error"] != "no handler for task id 9 (known: 1)" {
		t.Errorf("unknown id reply = %v", r.Fields)
	}
	close(release)
	for _, tok := range []string{running, waiting} {
		if r := c.WaitReply(tok); r.Status() != protocol.StatusOK {
			t.Errorf("%s: %v", tok, r.Final.Fields)
		}
	}
}

// Tasks beyond the running handlers and the bounded wait list are answered
// at once with "plugin busy" rather than queued without limit.
func TestTasksBeyondWaitListAnsweredBusy(t *testing.T) {
	sv := sdktest.New(t)
	release := make(chan struct{})
	app := sdk.New("busy").HandleDefault(func(_ context.Context, tk sdk.Task, s sdk.Sink) error {
		<-release
		return s.Reply(tk, sdk.Fields{"data_type": "done"})
	})
	sv.Start(app, sdk.WithMaxInFlight(1))
	c := sv.Connect()
	const waitList = 1024 // documented at WithMaxInFlight
	var toks []string
	for range 1 + waitList {
		toks = append(toks, c.Task(1, ""))
	}
	r := quickReply(t, c, c.Task(1, ""), 5*time.Second)
	if r.Fields["task_status"] != protocol.StatusError || r.Fields["error"] != "plugin busy: 1025 tasks in flight" {
		t.Errorf("overflow reply = %v", r.Fields)
	}
	close(release)
	for _, tok := range toks {
		if r := c.WaitReply(tok); r.Status() != protocol.StatusOK {
			t.Errorf("%s: %v", tok, r.Final.Fields)
		}
	}
}

// An error text too long for a frame is cut, so the task still gets its
// reply; the same for the list of known ids.
func TestLongErrorRepliesTruncated(t *testing.T) {
	sv := sdktest.New(t)
	const maxFrame = 1024
	long := "command failed: " + strings.Repeat("x", 2000)
	app := sdk.New("long").Handle(1, func(context.Context, sdk.Task, sdk.Sink) error {
		return errors.New(long)
	})
	for id := range uint32(300) {
		app.Handle(100+id, func(context.Context, sdk.Task, sdk.Sink) error { return nil })
	}
	sv.Start(app)
	c := sv.Accept()
	w := sdktest.DefaultWelcome()
	w.MaxFrame = maxFrame
	c.Welcome(w)

	for tok, prefix := range map[string]string{
		c.Task(1, ""): "command failed: xxx",
		c.Task(7, ""): "no handler for task id 7 (known: 1, 100, 101, ",
	} {
		r := quickReply(t, c, tok, 5*time.Second)
		text := r.Fields["error"]
		if r.Fields["task_status"] != protocol.StatusError || !strings.HasPrefix(text, prefix) || !strings.HasSuffix(text, "…(truncated)") {
			t.Errorf("reply to %s = %.80q…, want an error starting %q, cut with a marker", tok, text, prefix)
		}
		if len(text) >= maxFrame {
			t.Errorf("error text of %d bytes in a %d-byte frame", len(text), maxFrame)
		}
	}
	c.WaitPong(c.Ping()) // the connection survived
}

// PROTOCOL §9.2: tasks in flight when shutdown begins may still finish and
// answer within the grace; tasks still waiting are answered with an error.
func TestTasksInFlightAnswerDuringShutdown(t *testing.T) {
	sv := sdktest.New(t)
	started := make(chan struct{}, 2)
	replied := make(chan error, 1)
	app := sdk.New("inflight").
		Handle(1, func(ctx context.Context, tk sdk.Task, s sdk.Sink) error {
			started <- struct{}{}
			<-ctx.Done()
			time.Sleep(20 * time.Millisecond) // finish the work
			if err := s.Progress(tk, sdk.Fields{"data_type": "step"}); err != nil {
				replied <- err
				return err
			}
			err := s.Reply(tk, sdk.Fields{"data_type": "result"})
			replied <- err
			return err
		}).
		Handle(2, func(ctx context.Context, tk sdk.Task, s sdk.Sink) error {
			started <- struct{}{}
			<-ctx.Done()
			if err := s.Emit(sdk.Fields{"data_type": "plain"}); !errors.Is(err, sdk.ErrShutdown) {
				return fmt.Errorf("Emit during shutdown = %v, want ErrShutdown", err)
			}
			return nil // the SDK sends task_done
		})
	done := sv.Start(app, sdk.WithMaxInFlight(2))
	c := sv.Connect()
	t1, t2, t3 := c.Task(1, ""), c.Task(2, ""), c.Task(1, "")
	<-started
	<-started
	c.Shutdown(5*time.Second, "test")
	if err := <-replied; err != nil {
		t.Errorf("Reply of a task in flight during shutdown = %v, want nil", err)
	}
	if r := c.WaitReply(t1); r.Status() != protocol.StatusOK || r.Final.DataType() != "result" || len(r.Progress) != 1 {
		t.Errorf("task 1: progress %v, final %v", r.Progress, r.Final.Fields)
	}
	if r := c.WaitReply(t2); r.Status() != protocol.StatusOK || r.Final.DataType() != "task_done" {
		t.Errorf("task 2: final %v", r.Final.Fields)
	}
	if r := c.WaitReply(t3); r.Status() != protocol.StatusError || r.Final.Fields["error"] != "plugin shutting down" {
		t.Errorf("waiting task: final %v", r.Final.Fields)
	}
	if gb := c.WaitGoodbye(); gb.Reason != "shutdown requested: test" {
		t.Errorf("goodbye = %q", gb.Reason)
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}
