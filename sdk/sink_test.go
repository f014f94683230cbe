package sdk_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/sdk"
	"github.com/plugvisor/plugvisor/sdk/sdktest"
)

func TestConcurrentEmits(t *testing.T) {
	const producers, each = 16, 2000
	sv := sdktest.New(t)
	stats := make(chan sdk.Stats, 1)
	app := sdk.New("many").OnRun(func(sink sdk.Sink, s *sdk.Session) error {
		var wg sync.WaitGroup
		errs := make(chan error, producers)
		for p := range producers {
			wg.Go(func() {
				for i := range each {
					if err := sink.Emit(sdk.Fields{"data_type": "n", "p": fmt.Sprint(p), "i": fmt.Sprint(i)}); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return err
		}
		if err := sink.Flush(s.Context()); err != nil {
			return err
		}
		stats <- sink.Stats()
		s.Wait()
		return nil
	})
	sv.Start(app)
	c := sv.Connect()
	recs := c.WaitType("n", producers*each)
	seen := make(map[string]bool, len(recs))
	for _, r := range recs {
		seen[r.Fields["p"]+"/"+r.Fields["i"]] = true
	}
	if len(seen) != producers*each {
		t.Errorf("%d distinct records, want %d", len(seen), producers*each)
	}
	st := <-stats
	if st.Emitted != producers*each || st.Sent != st.Emitted || st.Queued != 0 {
		t.Errorf("stats after flush = %+v, want %d emitted and sent", st, producers*each)
	}
	_, frames := c.Records()
	if frames >= len(recs) {
		t.Errorf("%d records in %d frames: not batched", len(recs), frames)
	}
	t.Logf("%d records in %d frames", len(recs), frames)
}

// wide is a record of n fields, data_type among them.
func wide(n int) sdk.Fields {
	f := sdk.Fields{"data_type": "wide"}
	for i := 1; i < n; i++ {
		f[fmt.Sprint(i)] = ""
	}
	return f
}

func TestInvalidRecordsRefusedLocally(t *testing.T) {
	sv := sdktest.New(t)
	const maxFrame = 1024
	app := sdk.New("invalid").OnRun(func(sink sdk.Sink, s *sdk.Session) error {
		bad := []sdk.Fields{
			nil,
			{"x": "no data type"},
			{"data_type": ""},
			{"data_type": "t", "task_status": "ok"},
			{"data_type": "huge", "blob": strings.Repeat("x", maxFrame)},
			wide(protocol.MaxFieldsPerRecord),
		}
		var msgs []string
		for _, f := range bad {
			err := sink.Emit(f)
			if !errors.Is(err, sdk.ErrInvalidRecord) {
				return fmt.Errorf("Emit(%.40v) = %v, want ErrInvalidRecord", f, err)
			}
			msgs = append(msgs, err.Error())
		}
		// Records near the frame limit must still be split to fit.
		for i := range 50 {
			if err := sink.Emit(sdk.Fields{"data_type": "fill", "i": fmt.Sprint(i), "pad": strings.Repeat("p", 300)}); err != nil {
				return err
			}
		}
		if err := sink.Emit(sdk.Fields{"data_type": "report", "errors": strings.Join(msgs, "\n")}); err != nil {
			return err
		}
		s.Wait()
		return nil
	})
	sv.Start(app)
	c := sv.Accept()
	w := sdktest.DefaultWelcome()
	w.MaxFrame = maxFrame
	c.Welcome(w) // the test supervisor now refuses larger frames, as plugvisor does
	report := c.WaitType("report", 1)[0].Fields["errors"]
	for _, want := range []string{`"data_type" field is missing`, "must not set", "exceed the"} {
		if !strings.Contains(report, want) {
			t.Errorf("errors %q do not mention %q", report, want)
		}
	}
	if n := len(c.WaitType("fill", 50)); n != 50 {
		t.Errorf("%d fill records", n)
	}
	c.WaitPong(c.Ping()) // the connection survived
}

func TestBackpressureWakesOnShutdown(t *testing.T) {
	sv := sdktest.New(t)
	const queue = 8
	sinks, result := make(chan sdk.Sink, 1), make(chan error, 1)
	app := sdk.New("pressure").OnRun(func(sink sdk.Sink, s *sdk.Session) error {
		sinks <- sink
		big := strings.Repeat("b", 60<<10)
		for i := 0; ; i++ {
			if err := sink.Emit(sdk.Fields{"data_type": "big", "i": fmt.Sprint(i), "b": big}); err != nil {
				result <- err
				return err
			}
		}
	})
	done := sv.Start(app, sdk.WithQueueSize(queue))
	c := sv.Connect()
	sink := <-sinks
	c.Pause() // the supervisor stops reading: the socket fills, then the queue
	waitUntil(t, "a full queue", func() bool { return sink.Stats().Queued == queue })
	c.Shutdown(10*time.Second, "full")
	if err := <-result; !errors.Is(err, sdk.ErrShutdown) {
		t.Errorf("blocked Emit returned %v, want ErrShutdown", err)
	}
	c.Resume()
	if gb := c.WaitGoodbye(); gb.Reason != "shutdown requested: full" {
		t.Errorf("goodbye = %q", gb.Reason)
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	st := sink.Stats()
	if recs, _ := c.Records(); uint64(len(recs)) != st.Emitted || st.Sent != st.Emitted {
		t.Errorf("%d records arrived; stats %+v: queued records must be flushed before goodbye", len(recs), st)
	}
}

// waitUntil polls cond: used only where the SDK offers no event to wait on.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.WaitUntil(t, what, sdktest.Timeout, cond)
}

func TestZeroSink(t *testing.T) {
	var s sdk.Sink
	if err := s.Emit(sdk.Fields{"data_type": "x"}); err == nil {
		t.Error("Emit on a zero Sink succeeded")
	}
	if err := s.Reply(sdk.Task{ID: 1}, sdk.Fields{"data_type": "x"}); err == nil {
		t.Error("Reply with a made-up task succeeded")
	}
}
