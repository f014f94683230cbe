package sdk_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

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
