package state

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/ring"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// bigRecord carries a shared payload of n bytes: the store is charged for
// it in full while the test holds one copy.
func bigRecord(seq int, payload string) protocol.Record {
	return protocol.Record{Fields: map[string]string{"data_type": "big", "seq": strconv.Itoa(seq), "payload": payload}}
}

func recordsEvent(instance string, recs ...protocol.Record) supervisor.Event {
	return supervisor.Event{Type: supervisor.EventRecords, Plugin: instance, Instance: instance, Records: recs}
}

// held sums what a ring's items are charged, recomputed from the items.
func held[T any](r *ring.Ring[T], size func(T) int64) int64 {
	var n int64
	for i := range r.Len() {
		n += size(r.At(i))
	}
	return n
}

// TestRecordsBoundedInBytes: 1,000 records of 64 KiB would be 64 MiB; the
// store keeps the newest that fit in the per-instance budget.
func TestRecordsBoundedInBytes(t *testing.T) {
	s := New()
	payload := strings.Repeat("r", 64<<10)
	const n = MaxRecords
	for i := range n {
		s.Apply([]supervisor.Event{recordsEvent("p", bigRecord(i, payload))})
	}
	recs := s.Plugin("p").Records
	budget := s.Budgets().Records
	if got := held(recs, Record.Size); got > budget || got != recs.Bytes() || got < budget-Record.Size(recs.At(0)) {
		t.Fatalf("records hold %d bytes (ring says %d), budget %d", got, recs.Bytes(), budget)
	}
	if newest := recs.At(recs.Len() - 1).Fields["seq"]; newest != strconv.Itoa(n-1) {
		t.Fatalf("newest record kept is %s, want %d", newest, n-1)
	}
	if oldest := recs.At(0).Fields["seq"]; oldest != strconv.Itoa(n-recs.Len()) {
		t.Fatalf("records kept are not the newest: oldest %s, %d held", oldest, recs.Len())
	}
	if recs.Evicted() != uint64(n-recs.Len()) || recs.Len() >= MaxRecords/4 {
		t.Fatalf("%d held, %d evicted of %d", recs.Len(), recs.Evicted(), n)
	}
}

// TestLogsBoundedInBytes: 5,000 lines of 16 KiB would be 80 MiB.
func TestLogsBoundedInBytes(t *testing.T) {
	s := New()
	text := strings.Repeat("l", 16<<10)
	var batch []supervisor.Event
	for i := range MaxLogLines {
		batch = append(batch, supervisor.Event{Type: supervisor.EventLog, Plugin: "p", Instance: "p",
			Log: supervisor.LogLine{Instance: "p", Text: strconv.Itoa(i) + " " + text}})
	}
	s.Apply(batch)
	logs := s.Plugin("p").Logs
	if got := held(logs, logSize); got > s.Budgets().Logs || got != logs.Bytes() {
		t.Fatalf("logs hold %d bytes (ring says %d), budget %d", got, logs.Bytes(), s.Budgets().Logs)
	}
	if newest := logs.At(logs.Len() - 1).Text; !strings.HasPrefix(newest, strconv.Itoa(MaxLogLines-1)+" ") {
		t.Fatalf("newest line kept is %.10q", newest)
	}
	// Backfilled lines are bounded too.
	s.Backfill("p", []supervisor.LogLine{{Text: text}, {Text: text}})
	if got := held(logs, logSize); got > s.Budgets().Logs {
		t.Fatalf("after a backfill logs hold %d bytes", got)
	}
}

// TestTotalsSharedAcrossPlugins: twenty plugins each filling their own
// budget would hold 160 MiB of records and 80 MiB of lines; together they
// stay within the totals, and a quiet plugin keeps everything it sent.
func TestTotalsSharedAcrossPlugins(t *testing.T) {
	s := New()
	payload, text := strings.Repeat("r", 64<<10), strings.Repeat("l", 16<<10)
	for i := range 20 {
		id := "flood-" + strconv.Itoa(i)
		var batch []supervisor.Event
		for j := range 200 {
			batch = append(batch, recordsEvent(id, bigRecord(j, payload)),
				supervisor.Event{Type: supervisor.EventLog, Plugin: id, Instance: id, Log: supervisor.LogLine{Text: text}})
		}
		s.Apply(batch)
	}
	var quiet []supervisor.Event
	for j := range 50 {
		quiet = append(quiet, recordsEvent("quiet", bigRecord(j, "small")),
			supervisor.Event{Type: supervisor.EventLog, Plugin: "quiet", Instance: "quiet", Log: supervisor.LogLine{Text: "a line"}})
	}
	s.Apply(quiet)
	var records, logs int64
	for _, id := range s.Order() {
		p := s.Plugin(id)
		records += held(p.Records, Record.Size)
		logs += held(p.Logs, logSize)
		if p.Records.Len() == 0 {
			t.Errorf("%s keeps no record", id)
		}
	}
	b := s.Budgets()
	if records > b.TotalRecords || logs > b.TotalLogs {
		t.Fatalf("plugins hold %d bytes of records (total %d), %d of lines (total %d)", records, b.TotalRecords, logs, b.TotalLogs)
	}
	if q := s.Plugin("quiet"); q.Records.Len() != 50 || q.Logs.Len() != 50 {
		t.Fatalf("the quiet plugin keeps %d records and %d lines of 50", q.Records.Len(), q.Logs.Len())
	}
}

// TestReplyCut: a reply of 10,000 progress records of 4 KiB is not kept
// whole; the final record and the newest progress records are, and the cut
// is counted.
func TestReplyCut(t *testing.T) {
	s := New()
	const progress = 10_000
	payload := strings.Repeat("p", 4<<10)
	recs := make([]protocol.Record, 0, progress+1)
	for i := range progress {
		recs = append(recs, protocol.Record{Token: "tok", Fields: map[string]string{"seq": strconv.Itoa(i), "payload": payload}})
	}
	recs = append(recs, protocol.Record{Token: "tok", Fields: map[string]string{"task_status": "ok", "seq": "final"}})
	reply := supervisor.Reply{Token: "tok", ID: 1, Outcome: supervisor.OutcomeAnswered, Status: protocol.StatusOK, Records: recs}
	s.AddPending("p", "tok", 1, "go", time.Now())
	s.Resolve("p", reply, nil)
	s.Apply([]supervisor.Event{{Type: supervisor.EventTask, Plugin: "p", Instance: "p",
		Task: &supervisor.TaskEvent{ID: 1, Token: "tok", Outcome: supervisor.OutcomeAnswered, Reply: reply}}}) // the same reply again
	ts, _ := s.Tasks("p")
	task := ts.At(0)
	kept := task.Reply.Records
	if got := supervisor.RecordsSize(kept); got > s.Budgets().Reply || len(kept) < 2 {
		t.Fatalf("reply keeps %d records of %d bytes, budget %d", len(kept), got, s.Budgets().Reply)
	}
	if kept[len(kept)-1].Fields["seq"] != "final" || kept[len(kept)-2].Fields["seq"] != strconv.Itoa(progress-1) {
		t.Fatalf("kept records end with %s, %s", kept[len(kept)-2].Fields["seq"], kept[len(kept)-1].Fields["seq"])
	}
	if task.Cut != progress+1-len(kept) || task.Records() != progress+1 || s.ReplyCut != uint64(task.Cut) {
		t.Fatalf("cut %d, records %d, store counts %d; kept %d", task.Cut, task.Records(), s.ReplyCut, len(kept))
	}
	if ts.Bytes() != taskSize(task) {
		t.Fatalf("ring charges %d bytes for a task of %d", ts.Bytes(), taskSize(task))
	}
}

// TestTasksBoundedInBytes: round trips with 1 MiB replies are held to the
// plugin's budget, and the token index follows what the ring evicts; across
// plugins they are held to the total.
func TestTasksBoundedInBytes(t *testing.T) {
	s := New()
	payload := strings.Repeat("p", 1<<20-1024)
	for _, plugin := range []string{"a", "b", "c", "d", "e", "f"} {
		for i := range 20 {
			token := plugin + strconv.Itoa(i)
			reply := supervisor.Reply{Token: token, Outcome: supervisor.OutcomeAnswered, Status: protocol.StatusOK,
				Records: []protocol.Record{{Token: token, Fields: map[string]string{"task_status": "ok", "payload": payload}}}}
			s.AddPending(plugin, token, 1, "x", time.Now())
			s.Resolve(plugin, reply, nil)
		}
	}
	var total int64
	for _, plugin := range []string{"a", "b", "c", "d", "e", "f"} {
		ts := s.tasksOf(plugin)
		got := held(ts.ring, taskSize)
		total += got
		if got > s.Budgets().Tasks || got != ts.ring.Bytes() || ts.ring.Len() == 0 {
			t.Fatalf("%s: round trips hold %d bytes (ring says %d, %d held), budget %d", plugin, got, ts.ring.Bytes(), ts.ring.Len(), s.Budgets().Tasks)
		}
		if len(ts.byToken) != ts.ring.Len() || ts.ring.At(ts.ring.Len()-1).Token != plugin+"19" {
			t.Fatalf("%s: token index %d, ring %d, newest %s", plugin, len(ts.byToken), ts.ring.Len(), ts.ring.At(ts.ring.Len()-1).Token)
		}
	}
	if total > s.Budgets().TotalTasks {
		t.Fatalf("round trips hold %d bytes, total %d", total, s.Budgets().TotalTasks)
	}
}

func TestWaterLevel(t *testing.T) {
	for _, c := range []struct {
		sizes        []int64
		total, level int64
	}{
		{[]int64{100, 10, 10}, 60, 40},
		{[]int64{50, 50, 50}, 90, 30},
		{[]int64{100, 90, 5}, 105, 50},
		{[]int64{7}, 0, 0},
	} {
		var sum int64
		for _, n := range c.sizes {
			sum += n
		}
		if got := waterLevel(append([]int64(nil), c.sizes...), sum, c.total); got != c.level {
			t.Errorf("waterLevel(%v, %d) = %d, want %d", c.sizes, c.total, got, c.level)
		}
	}
}

// ApplySized charges what it is given, and keeps the same records Apply
// keeps when given what Apply would measure.
func TestApplySizedChargesGivenSizes(t *testing.T) {
	payload := strings.Repeat("r", 64<<10)
	var events []supervisor.Event
	var sizes []int64
	for i := range 300 {
		e := recordsEvent("p", bigRecord(2*i, payload), bigRecord(2*i+1, "small"))
		events = append(events, e, supervisor.Event{Type: supervisor.EventLog, Plugin: "p", Instance: "p"})
		for j := range e.Records {
			sizes = append(sizes, supervisor.RecordSize(&e.Records[j]))
		}
	}
	measured, given := New(), New()
	measured.Apply(events)
	given.ApplySized(events, sizes)
	a, b := measured.Plugin("p").Records, given.Plugin("p").Records
	if a.Len() != b.Len() || a.Bytes() != b.Bytes() || held(b, Record.Size) != b.Bytes() || b.Bytes() > given.Budgets().Records {
		t.Fatalf("Apply keeps %d records of %d bytes, ApplySized %d of %d (recomputed %d)", a.Len(), a.Bytes(), b.Len(), b.Bytes(), held(b, Record.Size))
	}
}
