package metrics

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/plugvisor/plugvisor/supervisor"
)

// What the writer writes, the Prometheus text parser reads back as it
// was: label values with quotes, backslashes, newlines and UTF-8, help
// text with the same, and values that need every digit.
func TestTextWriterRoundTrips(t *testing.T) {
	odd := "a\"b\\c\nd ünï {x=\"y\"}"
	values := []float64{0, 1, -2.5, 1e-9, 0.1 + 0.2, math.MaxFloat64, math.Inf(1), 1776347465.123456789}
	var w textWriter
	w.family("pv_test", "help with \\ and \n and \"quotes\"", kindGauge)
	for i, v := range values {
		w.sample("pv_test", v, "odd", odd, "i", string(rune('a'+i)))
	}
	w.family("pv_plain", "no labels", kindCounter)
	w.sample("pv_plain", 3)
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(string(w.b)))
	if err != nil {
		t.Fatalf("%v\n%s", err, w.b)
	}
	mf := mfs["pv_test"]
	if mf.GetHelp() != "help with \\ and \n and \"quotes\"" || len(mf.GetMetric()) != len(values) {
		t.Fatalf("help %q, %d series\n%s", mf.GetHelp(), len(mf.GetMetric()), w.b)
	}
	for i, m := range mf.GetMetric() {
		if got := m.GetGauge().GetValue(); got != values[i] {
			t.Errorf("value %d: %v, want %v", i, got, values[i])
		}
		if l := m.GetLabel(); len(l) != 2 || l[0].GetValue() != odd && l[1].GetValue() != odd {
			t.Errorf("labels %v, want odd=%q", l, odd)
		}
	}
	if got := mfs["pv_plain"].GetMetric()[0].GetCounter().GetValue(); got != 3 {
		t.Errorf("pv_plain %v", got)
	}
}

// A round trip falls in the first bucket whose bound is at or above it,
// and the buckets are cumulative, as Prometheus reads them.
func TestTaskHistogramBuckets(t *testing.T) {
	d := newTaskDurations()
	for _, rtt := range []float64{5e-6, 10e-6, 11e-6, 0.5, 20} {
		ev := supervisor.Event{Type: supervisor.EventTask, Plugin: "echo", Task: &supervisor.TaskEvent{Outcome: supervisor.OutcomeAnswered}}
		ev.Task.Reply.RTT = time.Duration(rtt * float64(time.Second))
		d.observe(&ev)
	}
	var w textWriter
	d.write(&w)
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(string(w.b)))
	if err != nil {
		t.Fatalf("%v\n%s", err, w.b)
	}
	h := mfs[taskDurationName].GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 5 {
		t.Fatalf("count %d, want 5\n%s", h.GetSampleCount(), w.b)
	}
	b := h.GetBucket()
	// 19 bounds, 10 µs to 10 s (to the float's rounding), and +Inf.
	last := b[len(b)-2]
	if len(b) != 20 || b[0].GetUpperBound() != 10e-6 || b[0].GetCumulativeCount() != 2 || b[1].GetCumulativeCount() != 3 ||
		math.Abs(last.GetUpperBound()-10) > 1e-9 || last.GetCumulativeCount() != 4 ||
		!math.IsInf(b[len(b)-1].GetUpperBound(), 1) || b[len(b)-1].GetCumulativeCount() != 5 {
		t.Errorf("buckets %v", b)
	}
}
