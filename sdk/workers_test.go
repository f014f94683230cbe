package sdk_test

import (
	"bytes"
	"context"
	"runtime"
	"strconv"
	"testing"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/sdk"
	"github.com/plugvisor/plugvisor/sdk/sdktest"
)

// goroutineID is the running goroutine's number, from its stack header
// ("goroutine 42 [running]:"): the one way a test can tell goroutines apart.
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	f := bytes.Fields(buf)
	if len(f) < 2 {
		return ""
	}
	return string(f[1])
}

// Tasks run on a pool of long-lived workers, never more than WithMaxInFlight:
// however many tasks come, one after another or many at once, the handlers
// run on at most that many goroutines, which outlive each task.
func TestTasksRunOnABoundedPoolOfWorkers(t *testing.T) {
	const pool = 3
	sv := sdktest.New(t)
	app := sdk.New("pool").HandleDefault(func(_ context.Context, tk sdk.Task, s sdk.Sink) error {
		return s.Reply(tk, sdk.Fields{"data_type": "ran", "on": goroutineID()})
	})
	sv.Start(app, sdk.WithMaxInFlight(pool))
	c := sv.Connect()
	seen := map[string]bool{}
	answer := func(tok string) {
		t.Helper()
		r := c.WaitReply(tok)
		if r.Status() != protocol.StatusOK || r.Final.Fields["on"] == "" {
			t.Fatalf("%s: %v", tok, r.Final.Fields)
		}
		seen[r.Final.Fields["on"]] = true
	}
	for i := range 50 { // one at a time
		answer(c.Task(uint32(i), ""))
	}
	for range 10 { // bursts of twice the pool
		var toks []string
		for i := range 2 * pool {
			toks = append(toks, c.Task(uint32(i), strconv.Itoa(i)))
		}
		for _, tok := range toks {
			answer(tok)
		}
	}
	if len(seen) > pool {
		t.Errorf("110 tasks ran on %d goroutines, want at most the pool's %d", len(seen), pool)
	}
}
