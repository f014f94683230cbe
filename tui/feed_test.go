package tui

import (
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// TestFeedQueueIsBounded pushes into a feed nobody takes from: log events
// stop at the soft bound, state and task events at the hard one, and every
// event turned away is counted.
func TestFeedQueueIsBounded(t *testing.T) {
	f := newFeed()
	for range maxPending + 100 {
		f.push(supervisor.Event{Type: supervisor.EventLog})
	}
	if len(f.pending) != maxPending || f.dropped != 100 {
		t.Fatalf("after logs: %d pending, %d dropped", len(f.pending), f.dropped)
	}
	extra := 50
	for i := range maxPendingAll - maxPending + extra {
		typ := supervisor.EventState
		if i%2 == 1 {
			typ = supervisor.EventTask
		}
		f.push(supervisor.Event{Type: typ})
	}
	batch, dropped, states := f.take()
	if len(batch) != maxPendingAll || dropped != uint64(100+extra) || !states {
		t.Fatalf("took %d events, %d dropped (states %v); want %d, %d, true", len(batch), dropped, states, maxPendingAll, 100+extra)
	}
	if batch, dropped, states := f.take(); len(batch) != 0 || dropped != 0 || states {
		t.Fatalf("second take: %d events, %d dropped, states %v", len(batch), dropped, states)
	}
}

// bigRecords is a records event of n records each carrying a value of size
// bytes; the value is shared, so the test holds little while the feed is
// charged for all of it.
func bigRecords(n, size int) supervisor.Event {
	v := strings.Repeat("x", size)
	recs := make([]protocol.Record, n)
	for i := range recs {
		recs[i] = protocol.Record{Fields: map[string]string{"data_type": "big", "payload": v}}
	}
	return supervisor.Event{Type: supervisor.EventRecords, Plugin: "p", Instance: "p", Records: recs}
}

// TestFeedQueueIsBoundedInBytes pushes events of megabytes into a feed
// nobody takes from: records stop at the soft byte bound, task events at the
// hard one, where a state change too is turned away and flagged; what the
// queue holds never passes the hard bound and every event turned away is
// counted.
func TestFeedQueueIsBoundedInBytes(t *testing.T) {
	f := newFeed()
	rec := bigRecords(4, 256<<10) // about 1 MiB
	for range 2 * maxPendingBytes / rec.Size() {
		f.push(rec)
	}
	if f.bytes > maxPendingBytes || f.bytes <= maxPendingBytes-rec.Size() || f.dropped == 0 {
		t.Fatalf("after records: %d bytes pending (soft bound %d), %d dropped", f.bytes, maxPendingBytes, f.dropped)
	}
	recsDropped := f.dropped
	task := supervisor.Event{Type: supervisor.EventTask, Plugin: "p", Instance: "p",
		Task: &supervisor.TaskEvent{Token: "t", Outcome: supervisor.OutcomeAnswered, Reply: supervisor.Reply{Records: rec.Records}}}
	var tasks uint64
	for f.bytes+task.Size() <= maxPendingBytesAll {
		f.push(task)
		tasks++
	}
	state := supervisor.Event{Type: supervisor.EventState, Plugin: "p", Instance: "p", State: supervisor.StateRunning}
	for f.bytes+state.Size() <= maxPendingBytesAll { // the room left: a state change fits where a task did not
		f.push(state)
	}
	f.push(task)
	f.push(state)
	batch, dropped, states := f.take()
	var held int64
	for i := range batch {
		held += batch[i].Size()
	}
	if held > maxPendingBytesAll || dropped != recsDropped+2 || !states {
		t.Fatalf("took %d events of %d bytes (hard bound %d), %d dropped (states %v); want %d dropped and states", len(batch), held, maxPendingBytesAll, dropped, states, recsDropped+2)
	}
	if last := batch[len(batch)-1]; last.Type != supervisor.EventState || tasks == 0 {
		t.Fatalf("newest kept event is %s after %d task events", last.Type, tasks)
	}
	if f.bytes != 0 {
		t.Fatalf("after take: %d bytes still charged", f.bytes)
	}
}

// An event larger than the whole budget is dropped even from an empty
// queue: one frame of a million records would otherwise be held whole.
func TestFeedDropsOversizedEvent(t *testing.T) {
	f := newFeed()
	f.push(bigRecords(1, maxPendingBytes))
	if batch, dropped, _ := f.take(); len(batch) != 0 || dropped != 1 {
		t.Fatalf("took %d events, %d dropped", len(batch), dropped)
	}
}

// The feed hands on what it charged each record, as the store would
// measure it, and charges each event what Event.Size says.
func TestFeedHandsOnRecordSizes(t *testing.T) {
	f := newFeed()
	small, big := bigRecords(3, 10), bigRecords(2, 5000)
	f.push(small)
	f.push(supervisor.Event{Type: supervisor.EventLog, Log: supervisor.LogLine{Text: "between"}})
	f.push(big)
	want := small.Size() + big.Size()
	want += (&supervisor.Event{Type: supervisor.EventLog, Log: supervisor.LogLine{Text: "between"}}).Size()
	if f.bytes != want {
		t.Fatalf("charged %d bytes, want %d", f.bytes, want)
	}
	batch, sizes, _, _ := f.takeSized()
	var recs []protocol.Record
	for i := range batch {
		recs = append(recs, batch[i].Records...)
	}
	if len(sizes) != len(recs) {
		t.Fatalf("%d sizes for %d records", len(sizes), len(recs))
	}
	for i := range recs {
		if sizes[i] != supervisor.RecordSize(&recs[i]) {
			t.Fatalf("record %d charged %d, RecordSize %d", i, sizes[i], supervisor.RecordSize(&recs[i]))
		}
	}
}
