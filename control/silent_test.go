package control_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/control"
	ct "github.com/plugvisor/plugvisor/control/controltest"
	"github.com/plugvisor/plugvisor/supervisor"
)

// TestSilentConnectionsAreClosed: a connection that never says hello, or
// that sits with nothing in flight, is told why and closed, so silent
// clients cannot hold descriptors for ever; a client with a subscription or
// a request in flight is never idle, however long it is quiet.
func TestSilentConnectionsAreClosed(t *testing.T) {
	e := ct.Start(t, ct.Plugin(t, "chaos", ct.Bin("chaos"), ""), ct.Options{Server: func(s *control.Server) {
		s.HandshakeTimeout, s.IdleTimeout = 500*time.Millisecond, time.Second
	}})
	e.WaitState("chaos", supervisor.StateRunning)
	wantClosed := func(r *rawConn, why string) {
		t.Helper()
		last, closed := r.closed()
		if !closed {
			t.Fatalf("%s: the server kept the connection open", why)
		}
		if len(last) == 0 || last[len(last)-1].Error == nil || last[len(last)-1].Error.Code != control.CodeIdle ||
			!strings.Contains(last[len(last)-1].Error.Message, why) {
			t.Fatalf("last words %+v, want an idle notice saying %q", last, why)
		}
	}
	wantClosed(dialRaw(t, e.Socket), "no hello within 500ms")
	r := dialRaw(t, e.Socket)
	r.hello()
	wantClosed(r, "idle for 1s with no request in flight and no subscription")

	// Quiet but busy: a subscriber, and a task that outlasts the idle time.
	sub := e.Dial()
	_, cancel, err := sub.Subscribe(context.Background(), 16)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	busy := e.Dial()
	reply, err := busy.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "chaos", ID: 8, Content: "2500ms"}) // 8: sleep
	if err != nil || reply.Outcome != supervisor.OutcomeAnswered {
		t.Fatalf("a task longer than the idle time: %+v, %v", reply, err)
	}
	select {
	case <-sub.Done():
		t.Fatalf("the subscriber was dropped: %v", sub.Err())
	default:
	}
	// Done with it, the busy client idles and is closed, and learns why.
	select {
	case <-busy.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the idle client was never closed")
	}
	if err := busy.Err(); err == nil || !strings.Contains(err.Error(), "idle for 1s") {
		t.Fatalf("idle client's error: %v", err)
	}
}

// TestConnectionCap: beyond MaxConns a connection is told too_many_requests
// and closed; those within it are served, and a slot that frees is reused.
func TestConnectionCap(t *testing.T) {
	e := ct.Start(t, ct.Plugin(t, "echo", ct.Bin("echo"), ""), ct.Options{Server: func(s *control.Server) { s.MaxConns = 3 }})
	e.WaitState("echo", supervisor.StateRunning)
	var held []*control.Client
	for range 3 {
		held = append(held, e.Dial())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if c, err := control.Dial(ctx, e.Socket); err == nil || !strings.Contains(err.Error(), "already has 3 connections") {
		if c != nil {
			c.Close()
		}
		t.Fatalf("a fourth connection: %v, want refused for the cap", err)
	}
	if st := e.Server.Stats(); st.Refused != 1 || st.Conns != 3 {
		t.Fatalf("stats %+v", st)
	}
	for _, c := range held {
		if _, err := c.Snapshot(ctx); err != nil {
			t.Fatalf("a connection within the cap: %v", err)
		}
	}
	held[0].Close()
	ct.WaitUntil(t, "the slot to free", 10*time.Second, func() bool { return e.Server.Stats().Conns == 2 })
	if _, err := e.Dial().Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
}
