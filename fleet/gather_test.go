package fleet

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/plugvisor/plugvisor/control"
	"github.com/plugvisor/plugvisor/internal/lossy"
	"github.com/plugvisor/plugvisor/internal/natstest"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor"
)

// backlog subscribes to a host's records as Subscribe does, with the
// subscription's handler held on its first message until sent records
// wait in the NATS client's queue: a console that fell behind a burst,
// made certain. It returns the events the burst became.
func backlog(t *testing.T, sent int, instanceOf func(i int) string) []supervisor.Event {
	t.Helper()
	srv := natstest.Start(t, natstest.Options{})
	conn := func() *nats.Conn {
		nc, err := nats.Connect(srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	subj := Subjects{Prefix: "pv", Host: "h1"}
	var total atomic.Uint64
	const buffer = 8192
	s := &eventSub{q: lossy.New(buffer, &total, droppedNotice).WithBudget(control.ClientEventBytes, eventSize), total: &total}
	t.Cleanup(s.close)
	release := make(chan struct{})
	var once sync.Once
	held := func(m *nats.Msg) (supervisor.Event, error) {
		once.Do(func() { <-release })
		return recordEventOf(m)
	}
	nc := conn()
	if err := s.add(nc, subj.AllRecords(), buffer, held, true); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	pub := conn()
	for i := range sent {
		m := nats.NewMsg(subj.Records("ticker", "tick"))
		m.Header.Set(HeaderInstance, instanceOf(i))
		m.Header.Set(HeaderTimestamp, strconv.Itoa(i+1))
		m.Data = []byte(`{"data_type":"tick","seq":"` + strconv.Itoa(i) + `"}`)
		if err := pub.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Flush(); err != nil {
		t.Fatal(err)
	}
	testutil.WaitUntil(t, "the burst waiting in the NATS client's queue", 10*time.Second, func() bool {
		n, _, err := s.subs[0].Pending()
		return err == nil && n == sent
	})
	close(release)
	var events []supervisor.Event
	for got := 0; got < sent; {
		select {
		case ev := <-s.q.C():
			if ev.Type != supervisor.EventRecords {
				t.Fatalf("not a records event: %+v", ev)
			}
			events = append(events, ev)
			got += len(ev.Records)
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d records in 10 s", got, sent)
		}
	}
	if n := total.Load(); n != 0 {
		t.Fatalf("%d lost", n)
	}
	return events
}

// seqs checks that ev's records are instance's, numbered on from *next
// (every instanceEvery-th of the burst), and moves next past them.
func seqs(t *testing.T, ev supervisor.Event, instance string, next *int, every int) {
	t.Helper()
	if ev.Instance != instance || ev.Plugin != "ticker" {
		t.Fatalf("event of %s/%s, want ticker/%s", ev.Plugin, ev.Instance, instance)
	}
	for _, r := range ev.Records {
		if r.Fields["seq"] != strconv.Itoa(*next) {
			t.Fatalf("%s: record %q where %d was due", instance, r.Fields["seq"], *next)
		}
		*next += every
	}
}

// TestRecordsBacklogIsOneEventPerInstance: records that waited behind one
// another reach the subscriber as one Records event per instance, each in
// its order, rather than one event per record, so a console behind a
// fleet's flood pays per batch as it does behind one engine.
func TestRecordsBacklogIsOneEventPerInstance(t *testing.T) {
	const sent = 600
	events := backlog(t, sent, func(i int) string { return "ticker." + strconv.Itoa(i%2) })
	if len(events) != 2 {
		t.Fatalf("%d records came as %d events, want one per instance (2)", sent, len(events))
	}
	for i, ev := range events {
		next := i
		seqs(t, ev, "ticker."+strconv.Itoa(i), &next, 2)
		if !ev.Time.Equal(time.Unix(0, int64(i+1))) {
			t.Fatalf("event %d at %v, want its first record's time", i, ev.Time)
		}
	}
}

// TestRecordsBacklogIsBoundedPerEvent: a backlog longer than an event
// holds becomes as many full events as it takes, in order.
func TestRecordsBacklogIsBoundedPerEvent(t *testing.T) {
	const sent = 2*gatherRecords + 100
	events := backlog(t, sent, func(int) string { return "ticker" })
	if len(events) != 3 || len(events[0].Records) != gatherRecords || len(events[1].Records) != gatherRecords {
		var sizes []int
		for _, ev := range events[:min(len(events), 8)] {
			sizes = append(sizes, len(ev.Records))
		}
		t.Fatalf("%d records came as %d events, the first of %v records; want %d, %d, 100", sent, len(events), sizes, gatherRecords, gatherRecords)
	}
	next := 0
	for _, ev := range events {
		seqs(t, ev, "ticker", &next, 1)
	}
}
