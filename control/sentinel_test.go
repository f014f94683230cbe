package control_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	ct "github.com/plugvisor/plugvisor/control/controltest"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// failingAPI returns err, wrapped as the engine wraps its sentinels, from
// every call: the engine cannot be made to return each sentinel on demand.
type failingAPI struct {
	supervisor.API
	err error
}

func (f *failingAPI) Info(context.Context) (supervisor.Info, error) { return supervisor.Info{}, nil }

func (f *failingAPI) Start(_ context.Context, name string) error {
	return fmt.Errorf("%s: %w", name, f.err)
}

func (f *failingAPI) SendTask(_ context.Context, req supervisor.TaskRequest) (supervisor.Reply, error) {
	return supervisor.Reply{Plugin: req.Plugin, Token: "tok-1", Outcome: supervisor.OutcomeNotSent}, fmt.Errorf("%s: %w", req.Plugin, f.err)
}

// TestEverySentinelCrossesTheSocket: each of the engine's sentinel errors
// has a control code, so errors.Is works on the client as it does in process.
func TestEverySentinelCrossesTheSocket(t *testing.T) {
	for _, want := range supervisor.Sentinels() {
		t.Run(want.Error(), func(t *testing.T) {
			f := &failingAPI{err: want}
			socket, _ := ct.ServeAPI(t, f, nil)
			c := ct.DialSocket(t, socket)
			err := c.Start(context.Background(), "p")
			if !errors.Is(err, want) {
				t.Fatalf("Start through the socket: %v (%T), want errors.Is %q", err, err, want)
			}
			if err.Error() != "p: "+want.Error() {
				t.Fatalf("message %q, want the server's %q", err.Error(), "p: "+want.Error())
			}
			// A failed task's Reply travels with its error.
			r, err := c.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "p", ID: 1})
			if !errors.Is(err, want) || r.Token != "tok-1" || r.Outcome != supervisor.OutcomeNotSent {
				t.Fatalf("SendTask through the socket: %+v, %v", r, err)
			}
		})
	}
}

// bigReplyAPI answers every task with more than a frame holds.
type bigReplyAPI struct{ supervisor.API }

func (bigReplyAPI) Info(context.Context) (supervisor.Info, error) { return supervisor.Info{}, nil }

func (bigReplyAPI) SendTask(_ context.Context, req supervisor.TaskRequest) (supervisor.Reply, error) {
	blob := strings.Repeat("b", 1<<20)
	r := supervisor.Reply{Plugin: req.Plugin, Instance: req.Plugin, Token: "big-1", Outcome: supervisor.OutcomeAnswered, Status: protocol.StatusOK}
	for range 3 {
		r.Records = append(r.Records, protocol.Record{Token: "big-1", Fields: map[string]string{"data_type": "bulk", "blob": blob}})
	}
	final := protocol.Record{Token: "big-1", Fields: map[string]string{"data_type": "done", "task_status": "ok", "blob": strings.Repeat("f", 2<<20)}}
	r.Records = append(r.Records, final)
	return r, nil
}

// TestReplyLargerThanAFrame: a reply whose records do not fit in a control
// frame still tells the caller how the task ended, its token and its final
// record; the records left out are counted.
func TestReplyLargerThanAFrame(t *testing.T) {
	socket, _ := ct.ServeAPI(t, bigReplyAPI{}, nil)
	c := ct.DialSocket(t, socket)
	r, err := c.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "p", ID: 1})
	if err != nil || r.Outcome != supervisor.OutcomeAnswered || r.Token != "big-1" {
		t.Fatalf("reply %+v, %v", r.Outcome, err)
	}
	if len(r.Records) != 1 || r.Records[0].Fields["data_type"] != "done" || r.Dropped != 3 || r.DroppedBytes < 3<<20 {
		t.Fatalf("%d records (last %v), dropped %d (%d bytes)", len(r.Records), r.Records[len(r.Records)-1].Fields["data_type"], r.Dropped, r.DroppedBytes)
	}
}
