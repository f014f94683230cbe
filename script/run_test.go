package script_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	ct "github.com/plugvisor/plugvisor/control/controltest"
	"github.com/plugvisor/plugvisor/script"
	"github.com/plugvisor/plugvisor/supervisor"
)

func run(t *testing.T, api supervisor.API, text string) (script.Summary, string, error) {
	t.Helper()
	s, err := parseString(t, text)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sum, err := s.Run(context.Background(), api, &out)
	return sum, out.String(), err
}

func echoEnv(t *testing.T) *ct.Env {
	e := ct.Start(t, ct.Plugin(t, "echo", ct.Bin("echo"), "instances = 2")+ct.Plugin(t, "chaos", ct.Bin("chaos"), ""), ct.Options{})
	e.WaitState("echo.0", supervisor.StateRunning)
	e.WaitState("echo.1", supervisor.StateRunning)
	e.WaitState("chaos", supervisor.StateRunning)
	return e
}

// TestSmokeScript runs testdata/scripts/smoke.pvs against the embedded API.
func TestSmokeScript(t *testing.T) {
	e := echoEnv(t)
	f, err := os.Open(filepath.Join("..", "testdata", "scripts", "smoke.pvs"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := script.Parse("smoke.pvs", f)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sum, err := s.Run(context.Background(), e.Sup, &out)
	if err != nil || !sum.OK || sum.Sent != 1022 || sum.Answered != 1022 {
		t.Fatalf("smoke: %+v %v\n%s", sum, err, out.String())
	}
	for _, want := range []string{
		"smoke.pvs:7: wait echo running timeout 30s: ok in",
		"smoke.pvs:8: ping echo: rtt",
		"smoke.pvs:16: send echo 2 'load test' count 1000 concurrency 16 timeout 2s: 1000 sent, 1000 answered, 0 timed out, 0 failed, 0 failed expectations in",
		"smoke.pvs:23: restart echo: ok in",
		"summary: 1022 sent, 1022 answered, 0 timed out, 0 failed, 0 failed expectations; rtt p50",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestTenThousandTasks: 10,000 tasks, 64 at a time, through the control
// socket: every one answered, with the round-trip figures reported.
func TestTenThousandTasks(t *testing.T) {
	e := echoEnv(t)
	c := e.Dial()
	sum, out, err := run(t, c, "send echo 1 \"ten thousand\" count 10000 concurrency 64\nexpect content == \"ten thousand\"\n")
	if err != nil || !sum.OK || sum.Sent != 10000 || sum.Answered != 10000 || sum.TimedOut != 0 || sum.Failed != 0 {
		t.Fatalf("%+v %v\n%s", sum, err, out)
	}
	if sum.P50 <= 0 || sum.P99 < sum.P50 {
		t.Fatalf("rtt p50 %v p99 %v", sum.P50, sum.P99)
	}
	if !strings.Contains(out, "t.pvs:1: send echo 1 \"ten thousand\" count 10000 concurrency 64: 10000 sent, 10000 answered") ||
		!strings.Contains(out, "summary: 10000 sent, 10000 answered, 0 timed out, 0 failed, 0 failed expectations; rtt p50 ") ||
		!strings.HasSuffix(out, ": OK\n") {
		t.Fatalf("output:\n%s", out)
	}
	var answered uint64
	for _, st := range e.Snapshot() {
		if st.Name == "echo" {
			answered += st.TasksAnswered
		}
	}
	if answered != 10000 {
		t.Fatalf("the supervisor counted %d answered tasks", answered)
	}
}

// TestFailedExpectationNamesLineAndReply: a reply that does not match fails
// the run and says which line and which reply.
func TestFailedExpectationNamesLineAndReply(t *testing.T) {
	e := echoEnv(t)
	sum, out, err := run(t, e.Sup, `
send echo 5 "actual" count 3
expect data_type == "echo"
expect content == "expected"   # fails for each of the 3 replies
send echo 6 "later steps still run"
`)
	if err != nil {
		t.Fatalf("an expectation failure is not a step error: %v", err)
	}
	if sum.OK || sum.ExpectFailures != 3 || sum.Answered != 4 || sum.Failed != 0 {
		t.Fatalf("summary %+v\n%s", sum, out)
	}
	want := `t.pvs:4: expect content == "expected": failed: content is "actual"; reply: task 5 from echo.`
	if strings.Count(out, want) != 3 || !strings.Contains(out, `{content="actual" data_type="echo" task_status="ok"}`) {
		t.Fatalf("output lacks 3 × %q and the records:\n%s", want, out)
	}
	if !strings.HasSuffix(out, ": FAILED\n") {
		t.Fatalf("summary line:\n%s", out)
	}
}

func TestTimeoutsErrorsAndAborts(t *testing.T) {
	e := echoEnv(t)
	// chaos task 8 sleeps for its content; task 7 fails with its content.
	sum, out, err := run(t, e.Sup, `
send chaos 8 "5s" timeout 100ms
send chaos 7 "boom"
send chaos 7 "expected boom"
expect error == "expected boom"
send nosuch 1 x
`)
	if err != nil {
		t.Fatal(err)
	}
	if sum.OK || sum.TimedOut != 1 || sum.Failed != 2 || sum.Answered != 2 || sum.ExpectFailures != 0 || sum.Sent != 4 {
		t.Fatalf("summary %+v\n%s", sum, out)
	}
	for _, want := range []string{
		`t.pvs:2: send chaos 8 "5s" timeout 100ms: timed out: context deadline exceeded`,
		`t.pvs:3: send chaos 7 "boom": task 7 replied error: boom`,
		`t.pvs:6: send nosuch 1 x: "nosuch": unknown plugin`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	sum, out, err = run(t, e.Sup, "send echo 1 x\nwait echo failed timeout 100ms\nsend echo 2 never\n")
	if err == nil || !strings.Contains(err.Error(), "t.pvs:2: wait echo failed timeout 100ms: not failed within 100ms: [echo.0 is running") {
		t.Fatalf("wait timeout: %v\n%s", err, out)
	}
	if sum.OK || sum.Sent != 1 {
		t.Fatalf("an aborted run: %+v", sum)
	}
}

// TestHugeCountReservesLittle: a step of a hundred million tasks, cut short,
// does not reserve room for all their round trips up front (800 MB here; a
// billion would ask for 8 GB).
func TestHugeCountReservesLittle(t *testing.T) {
	e := echoEnv(t)
	s, err := parseString(t, "send echo 1 x count 100000000 concurrency 4\n")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = s.Run(ctx, e.Sup, io.Discard)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a run cut short: %v", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 200<<20 {
		t.Fatalf("the run allocated %d MB", n>>20)
	}
}

// A selector is for an API over many hosts: against one host's the step
// fails, naming its line and why.
func TestSelectorNeedsManyHosts(t *testing.T) {
	e := echoEnv(t)
	_, out, err := run(t, e.Sup, "send host=edge-1 echo 1 x")
	if err == nil || !strings.Contains(err.Error(), "t.pvs:1: send host=edge-1 echo 1 x: a host selector needs an API over many hosts") {
		t.Fatalf("a selector on one host's API: %v\n%s", err, out)
	}
}
