package headless

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

func recordsEvent(n int) supervisor.Event {
	recs := make([]protocol.Record, n)
	for i := range recs {
		recs[i] = protocol.Record{Timestamp: int64(i), Fields: map[string]string{"data_type": "flood", "seq": strconv.Itoa(i)}}
	}
	return supervisor.Event{Type: supervisor.EventRecords, Time: time.Now(), Plugin: "a", Instance: "a", Records: recs}
}

// TestRunReturnsWhileOutputStalls: the output never takes a byte. The
// subscription is still consumed, records beyond the budget are dropped
// and said, and once the engine is done Run returns within its drain time,
// counting what was still queued.
func TestRunReturnsWhileOutputStalls(t *testing.T) {
	const events, perEvent = 50, 1000
	api := newFakeAPI(events)
	log, out := testLogger()
	w := &blockedWriter{started: make(chan struct{}, 1), release: make(chan struct{})}
	t.Cleanup(func() { close(w.release) })
	d, err := Attach(api, Options{Log: log, Data: w, OutputBuffer: 256 << 10, Drain: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	returned := make(chan error)
	go func() { returned <- d.Run(func() {}, done) }()
	for range events {
		api.events <- recordsEvent(perEvent)
	}
	close(done)
	select {
	case err := <-returned:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second): // a hang bound, not a speed claim
		t.Fatal("Run did not return while its output was stalled")
	}
	text := out.String()
	m := regexp.MustCompile(`msg="records dropped, all told" records=([0-9]+) bytes=[1-9][0-9]* over_budget=([0-9]+) output_failed=0 at_exit=([1-9][0-9]*)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no count of the records dropped in:\n%s", text)
	}
	total, _ := strconv.Atoi(m[1])
	if total != events*perEvent {
		t.Fatalf("%d records dropped in all, want all %d: the output took none", total, events*perEvent)
	}
	if over, _ := strconv.Atoi(m[2]); over > 0 && !regexp.MustCompile(`msg="output fell behind; records dropped" records=[1-9]`).MatchString(text) {
		t.Fatalf("%d dropped over budget, never said while running:\n%s", over, text)
	}
}
