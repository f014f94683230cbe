package sdk_test

import (
	"context"
	"errors"
	"testing"

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
