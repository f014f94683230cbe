package main

import (
	"context"
	"io"
	"math"
	"os"
	"testing"

	"github.com/plugvisor/plugvisor/supervisor"
)

// TestMain lets this test binary be a worker and the supervisor's watchdog,
// as the command is.
func TestMain(m *testing.M) {
	supervisor.RunWatchdogIfRequested()
	if kind := os.Getenv(workerEnv); kind != "" {
		os.Exit(workerMain(kind))
	}
	os.Exit(m.Run())
}

// TestQuickRun runs the quick mode once, every contender and metric, and
// checks the report is whole: every table has a row per contender and
// every figure is a positive number. It asserts nothing about speed.
func TestQuickRun(t *testing.T) {
	rep, err := run(context.Background(), quickSizes(1), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int{}
	for _, m := range metrics() {
		rows[m.Key] = len(m.Entries)
	}
	split := 0 // the round trips split: plugvisor's contenders only
	for _, e := range metricEntries("rtt") {
		if e.Key == "embedded" || e.Key == "daemon" {
			split++
		}
	}
	want := []int{rows["rtt"], split, rows["inflight"], rows["spawn"], rows["records"], len(quickSizes(1).Idle) * len(idleKinds)}
	if len(rep.Tables) != len(want) {
		t.Fatalf("%d tables, want %d", len(rep.Tables), len(want))
	}
	for i, tb := range rep.Tables {
		if len(tb.Rows) != want[i] {
			t.Errorf("%s: %d rows, want %d", tb.Title, len(tb.Rows), want[i])
		}
		for _, r := range tb.Rows {
			if len(r.Cells) != len(tb.Header)-1 {
				t.Errorf("%s / %s: %d cells for %d columns", tb.Title, r.Label, len(r.Cells), len(tb.Header)-1)
			}
			for j, c := range r.Cells {
				if !(c.Value > 0) || math.IsInf(c.Value, 0) || c.Text == "" {
					t.Errorf("%s / %s / %s: %v (%q), want a positive figure", tb.Title, r.Label, tb.Header[j+1], c.Value, c.Text)
				}
			}
		}
	}
	if len(rep.Targets) != 10 {
		t.Errorf("%d targets, want 10", len(rep.Targets))
	}
	for _, tg := range rep.Targets {
		if tg.Goal == "" || tg.Text == "" || math.IsNaN(tg.Got) || math.IsInf(tg.Got, 0) {
			t.Errorf("target %+v is not a figure", tg)
		}
	}
	if len(rep.Notes) != len(workerKinds) {
		t.Errorf("notes %q, want one per contender", rep.Notes)
	}
}
