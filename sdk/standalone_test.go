package sdk_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/sdk"
	"github.com/plugvisor/plugvisor/sdk/sdktest"
)

// In process, so the race detector sees the standalone reader and writer.
func TestStandaloneInProcess(t *testing.T) {
	in, feed := io.Pipe()
	var stdout, stderr sdktest.Lines
	standalone := make(chan bool, 1)
	app := sdk.New("solo").
		OnRun(func(sink sdk.Sink, s *sdk.Session) error {
			standalone <- s.Standalone()
			s.Wait()
			return nil
		}).
		Handle(3, func(_ context.Context, t sdk.Task, s sdk.Sink) error {
			if err := s.Progress(t, sdk.Fields{"data_type": "step"}); err != nil {
				return err
			}
			return s.Reply(t, sdk.Fields{"data_type": "upper", "out": strings.ToUpper(t.Content)})
		})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- sdk.Run(ctx, app, sdk.WithEnv(sdk.Env{}), sdk.WithStdio(in, &stdout, &stderr), sdk.WithSignals())
	}()
	if !<-standalone {
		t.Error("Session.Standalone() = false without PLUGVISOR_SOCKET")
	}
	io.WriteString(feed, "\n"+`{"id":3,"content":"abc"}`+"\n"+`{"id":4}`+"\n"+`{"id":"x"}`+"\n")
	feed.Close()

	lines := stdout.WaitLines(t, "3 records", func(l []string) bool { return len(l) >= 3 })
	type record struct {
		Token  string            `json:"token"`
		Fields map[string]string `json:"fields"`
	}
	var recs []record
	for _, l := range lines {
		var r record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		recs = append(recs, r)
	}
	byType := map[string]record{}
	for _, r := range recs {
		byType[r.Fields["data_type"]] = r
	}
	if r := byType["upper"]; r.Token != "stdin-2" || r.Fields["out"] != "ABC" || r.Fields["task_status"] != "ok" {
		t.Errorf("reply %+v", r)
	}
	if r := byType["step"]; r.Token != "stdin-2" {
		t.Errorf("progress %+v", r)
	}
	if r := byType["task_error"]; r.Token != "stdin-3" || !strings.Contains(r.Fields["error"], "no handler for task id 4 (known: 3)") {
		t.Errorf("unknown id reply %+v", r)
	}
	stderr.WaitContaining(t, "stdin line 4: invalid task")
	stderr.WaitContaining(t, "end of stdin")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

// A stdout that does not drain (a paused `plugin | less`) must not hold the
// shutdown beyond its grace.
func TestStandaloneStalledStdoutBoundsShutdown(t *testing.T) {
	stalled, out := io.Pipe() // never read
	t.Cleanup(func() { stalled.Close() })
	var stderr sdktest.Lines
	emitted := make(chan struct{})
	app := sdk.New("stall").OnRun(func(sink sdk.Sink, s *sdk.Session) error {
		if err := sink.Emit(sdk.Fields{"data_type": "x"}); err != nil {
			return err
		}
		close(emitted)
		s.Wait()
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- sdk.Run(ctx, app, sdk.WithEnv(sdk.Env{}), sdk.WithSignals(), sdk.WithGrace(200*time.Millisecond),
			sdk.WithStdio(strings.NewReader(""), out, &stderr))
	}()
	<-emitted
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "output stalled") {
			t.Errorf("Run = %v, want an error saying the output stalled", err)
		}
	case <-time.After(sdktest.Timeout): // the stalled stdout is never read: waiting for it never ends
		stalled.Close() // let Run end
		<-done
		t.Fatalf("Run still running %v after cancel with a 200ms grace: shutdown waits for a stalled stdout", sdktest.Timeout)
	}
}

// One stdin line over the limit is skipped and reported; the lines after it
// are still read.
func TestStandaloneSkipsOverlongLine(t *testing.T) {
	in := `{"id":1,"content":"` + strings.Repeat("a", 5<<20) + `"}` + "\n" + `{"id":1,"content":"after"}` + "\n"
	var stdout, stderr sdktest.Lines
	app := sdk.New("long").Handle(1, func(_ context.Context, tk sdk.Task, s sdk.Sink) error {
		return s.Reply(tk, sdk.Fields{"data_type": "echo", "content": tk.Content})
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- sdk.Run(ctx, app, sdk.WithEnv(sdk.Env{}), sdk.WithSignals(), sdk.WithStdio(strings.NewReader(in), &stdout, &stderr))
	}()
	line := stdout.WaitContaining(t, `"content":"after"`)
	if !strings.Contains(line, `"token":"stdin-2"`) {
		t.Errorf("reply %q, want token stdin-2", line)
	}
	stderr.WaitContaining(t, "stdin line 1: longer than 4194304 bytes; skipped")
	stderr.WaitContaining(t, "end of stdin")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	if n := len(stdout.All()); n != 1 {
		t.Errorf("%d stdout lines, want the 1 reply", n)
	}
}
