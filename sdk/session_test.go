package sdk_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/sdk"
	"github.com/plugvisor/plugvisor/sdk/sdktest"
)

func TestHandshake(t *testing.T) {
	sv := sdktest.New(t)
	app := sdk.New("hs").Version("1.2.3").OnRun(func(sink sdk.Sink, s *sdk.Session) error {
		for s.RTT() == 0 { // wait for one heartbeat round trip
			if !s.Sleep(s.Heartbeat()) {
				return nil
			}
		}
		return sink.Emit(sdk.Fields{
			"data_type": "session", "name": s.Name(), "instance": s.Instance(),
			"supervisor": s.Supervisor(), "heartbeat": s.Heartbeat().String(),
			"standalone": strconv.FormatBool(s.Standalone()),
		})
	})
	done := sv.Start(app, sdk.WithGrace(time.Minute))
	c := sv.Accept()

	h := c.Hello
	if h.Name != "hs" || h.Version != "1.2.3" || h.PID != os.Getpid() || h.Instance != "test-1" {
		t.Errorf("hello = %+v, want name hs, version 1.2.3, pid %d, instance test-1", h, os.Getpid())
	}
	if !slices.Equal(h.Versions, protocol.Versions()) {
		t.Errorf("hello versions = %v, want %v", h.Versions, protocol.Versions())
	}
	v, err := protocol.Negotiate([]uint16{protocol.Version, 99}, h.Versions)
	if err != nil {
		t.Fatal(err)
	}
	c.Welcome(protocol.Welcome{Protocol: v, Heartbeat: 20 * time.Millisecond, Supervisor: "sv-test"})

	seq := c.Ping()
	if pong := c.WaitPong(seq); pong.Seq != seq || pong.Time == 0 {
		t.Errorf("pong = %+v, want seq %d and the ping's time", pong, seq)
	}
	got := c.WaitType("session", 1)[0].Fields
	want := map[string]string{"data_type": "session", "name": "hs", "instance": "test-1",
		"supervisor": "sv-test", "heartbeat": "20ms", "standalone": "false"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("session field %s = %q, want %q", k, got[k], v)
		}
	}
	// Run returned nil: the plugin is finished.
	if gb := c.WaitGoodbye(); gb.Reason != "finished" {
		t.Errorf("goodbye = %q, want finished", gb.Reason)
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	c.WaitClosed()
}

func TestReject(t *testing.T) {
	sv := sdktest.New(t)
	done := sv.Start(sdk.New("nope"))
	c := sv.Accept()
	c.Reject(protocol.RejectUnknownPlugin, `no plugin "nope" in the config`)
	err := <-done
	var rej *sdk.RejectedError
	if !errors.As(err, &rej) || rej.Code != protocol.RejectUnknownPlugin || rej.Reason != `no plugin "nope" in the config` {
		t.Fatalf("Run = %v, want *RejectedError with the code and reason", err)
	}
	if code := sdk.ExitCode(err); code != sdk.ExitRejected {
		t.Errorf("ExitCode = %d, want %d", code, sdk.ExitRejected)
	}
}

func TestShutdownMessage(t *testing.T) {
	sv := sdktest.New(t)
	type outcome struct{ ctxErr, emitErr error }
	seen := make(chan outcome, 1)
	app := sdk.New("sd").OnRun(func(sink sdk.Sink, s *sdk.Session) error {
		if err := sink.Emit(sdk.Fields{"data_type": "up"}); err != nil {
			return err
		}
		s.Wait()
		seen <- outcome{ctxErr: s.Context().Err(), emitErr: sink.Emit(sdk.Fields{"data_type": "late"})}
		return s.Context().Err() // echoing the cancellation is a clean stop
	})
	done := sv.Start(app)
	c := sv.Connect()
	c.WaitType("up", 1)
	c.Shutdown(5*time.Second, "operator stop")

	o := <-seen
	if o.ctxErr == nil {
		t.Error("session context not cancelled by the shutdown message")
	}
	if !errors.Is(o.emitErr, sdk.ErrShutdown) {
		t.Errorf("Emit after shutdown = %v, want ErrShutdown", o.emitErr)
	}
	if gb := c.WaitGoodbye(); gb.Reason != "shutdown requested: operator stop" {
		t.Errorf("goodbye = %q", gb.Reason)
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if recs := c.WaitType("up", 1); len(recs) != 1 {
		t.Errorf("got %d up records", len(recs))
	}
}

func TestRunOutcomes(t *testing.T) {
	cases := []struct {
		name    string
		run     sdk.RunFunc
		goodbye string
		code    int
	}{
		{"finished", func(sdk.Sink, *sdk.Session) error { return nil }, "finished", sdk.ExitOK},
		{"error", func(sdk.Sink, *sdk.Session) error { return errors.New("disk full") }, "disk full", sdk.ExitError},
		{"panic", func(sdk.Sink, *sdk.Session) error { panic("kaboom") }, "panic: kaboom", sdk.ExitPanic},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sv := sdktest.New(t)
			done := sv.Start(sdk.New(tc.name).OnRun(tc.run))
			c := sv.Connect()
			if gb := c.WaitGoodbye(); gb.Reason != tc.goodbye {
				t.Errorf("goodbye = %q, want %q", gb.Reason, tc.goodbye)
			}
			if code := sdk.ExitCode(<-done); code != tc.code {
				t.Errorf("exit code = %d, want %d", code, tc.code)
			}
		})
	}
}

func TestGraceExpires(t *testing.T) {
	sv := sdktest.New(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	app := sdk.New("stubborn").OnRun(func(sdk.Sink, *sdk.Session) error {
		<-release // ignores shutdown
		return nil
	})
	done := sv.Start(app)
	c := sv.Connect()
	// The SDK waits 3/4 of the grace for Run and flushes and says goodbye by
	// 9/10 of it (at least 100 ms after shutdown began): a 100 ms grace left
	// the goodbye 25 ms, which a loaded machine misses, and the plugin then
	// leaves without one. 2 s leaves it 300 ms.
	c.Shutdown(2*time.Second, "hurry")
	if gb := c.WaitGoodbye(); gb.Reason != "shutdown requested: hurry; run did not return in time" {
		t.Errorf("goodbye = %q", gb.Reason)
	}
	if err := <-done; sdk.ExitCode(err) != sdk.ExitError {
		t.Errorf("Run = %v, want an error", err)
	}
}

func TestHeartbeatsDisabled(t *testing.T) {
	sv := sdktest.New(t)
	app := sdk.New("quiet").OnRun(func(sink sdk.Sink, s *sdk.Session) error {
		// Outlive the handshake timeout: its deadline must not linger.
		if !s.Sleep(300 * time.Millisecond) {
			return nil
		}
		return sink.Emit(sdk.Fields{"data_type": "still_here"})
	})
	done := sv.Start(app, sdk.WithHandshakeTimeout(100*time.Millisecond))
	c := sv.Accept()
	w := sdktest.DefaultWelcome()
	w.Heartbeat = 0
	c.Welcome(w)
	c.WaitType("still_here", 1)
	if gb := c.WaitGoodbye(); gb.Reason != "finished" {
		t.Errorf("goodbye %q", gb.Reason)
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

// Crossed writes: the plugin's writer is stuck sending into a full socket
// (the supervisor is busy sending to the plugin, or paused) and holds the
// connection's write lock. Answering a ping must not stop the read loop, or
// the supervisor, which may itself be blocked sending to the plugin, waits
// until its write timeout and kills the plugin.
func TestReadLoopKeepsReadingWhileWriterIsStuck(t *testing.T) {
	handled := make(chan struct{})
	c, done := stuckWriter(t, "crossed", func(context.Context, sdk.Task, sdk.Sink) error {
		close(handled)
		return nil
	}, nil)
	c.Ping()
	seq := c.Ping() // a pong still waiting may be replaced by the latest
	tok := c.Task(1, "")
	select {
	case <-handled:
	case <-time.After(sdktest.Timeout): // the writer stays stuck until Resume: a blocked read loop never reads it
		t.Fatal("task not read while the writer was stuck: the read loop is blocked")
	}
	c.Resume()
	c.WaitPong(seq)
	if r := c.WaitReply(tok); r.Status() != protocol.StatusOK {
		t.Errorf("reply = %v", r.Final.Fields)
	}
	c.Shutdown(10*time.Second, "done")
	c.WaitGoodbye()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

// writerStuck reports a full queue that the writer has not drained for a
// while: it is blocked in a send.
func writerStuck(sink sdk.Sink, queue int) func() bool {
	var last uint64
	var since time.Time
	return func() bool {
		st := sink.Stats()
		if st.Queued < queue || st.Sent != last || since.IsZero() {
			last, since = st.Sent, time.Now()
			return false
		}
		return time.Since(since) > 100*time.Millisecond
	}
}

// Shutdown{Grace: 0} means leave now: Run is not waited for, and the
// goodbye goes out at once. It is not replaced by the default grace.
func TestShutdownGraceZeroLeavesAtOnce(t *testing.T) {
	sv := sdktest.New(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	app := sdk.New("g0").OnRun(func(sink sdk.Sink, s *sdk.Session) error {
		if err := sink.Emit(sdk.Fields{"data_type": "up"}); err != nil {
			return err
		}
		s.Wait()
		<-release // a slow cleanup: it ends only with the test
		return nil
	})
	// A grace longer than sdktest's waits: had grace 0 been replaced by it,
	// or Run been waited for, the goodbye and Run's end would not come
	// before those waits fail. No claim about how fast leaving is.
	done := sv.Start(app, sdk.WithGrace(time.Hour))
	c := sv.Connect()
	c.WaitType("up", 1)
	c.Shutdown(0, "now")
	if gb := c.WaitGoodbye(); gb.Reason != "shutdown requested: now" {
		t.Errorf("goodbye = %q", gb.Reason)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil: leaving without Run is what was asked", err)
		}
	case <-time.After(sdktest.Timeout):
		t.Fatalf("the plugin had not left %v after a shutdown with grace 0", sdktest.Timeout)
	}
}

// The supervisor's announced max_frame is the limit both ways: it may send a
// task above the 4 MiB default, and a reply that large may be sent back.
func TestAnnouncedMaxFrameApplies(t *testing.T) {
	sv := sdktest.New(t)
	app := sdk.New("big").Handle(1, func(_ context.Context, tk sdk.Task, s sdk.Sink) error {
		return s.Reply(tk, sdk.Fields{"data_type": "echo", "content": tk.Content})
	})
	done := sv.Start(app)
	c := sv.Accept()
	w := sdktest.DefaultWelcome()
	w.MaxFrame = 8 << 20
	c.Welcome(w)
	content := strings.Repeat("z", 5<<20)
	if r := c.WaitReply(c.Task(1, content)); r.Final.Fields["content"] != content {
		t.Errorf("reply content of %d bytes, want the 5 MiB task echoed", len(r.Final.Fields["content"]))
	}
	select {
	case err := <-done:
		t.Fatalf("Run ended: %v", err)
	default:
	}
}
