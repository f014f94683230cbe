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

// recordSub subscribes to a host's records as Subscribe does, decoding
// with decode, and returns the subscription and a function publishing
// record i of instance (its seq is i, its time i+1).
func recordSub(t *testing.T, decode func(*nats.Msg) (supervisor.Event, error)) (*eventSub, *atomic.Uint64, func(instance string, i int)) {
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
	total := new(atomic.Uint64)
	const buffer = 8192
	s := &eventSub{q: lossy.New(buffer, total, droppedNotice).WithBudget(control.ClientEventBytes, eventSize), total: total}
	t.Cleanup(s.close)
	nc := conn()
	if err := s.add(nc, subj.AllRecords(), buffer, decode, true); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	pub := conn()
	return s, total, func(instance string, i int) {
		m := nats.NewMsg(subj.Records("ticker", "tick"))
		m.Header.Set(HeaderInstance, instance)
		m.Header.Set(HeaderTimestamp, strconv.Itoa(i+1))
		m.Data = []byte(`{"data_type":"tick","seq":"` + strconv.Itoa(i) + `"}`)
		if err := pub.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
		if err := pub.Flush(); err != nil {
			t.Fatal(err)
		}
	}
}

// backlog subscribes to a host's records with the subscription's handler
// held on its first message until sent records wait in the NATS client's
// queue: a console that fell behind a burst, made certain. It returns the
// events the burst became.
func backlog(t *testing.T, sent int, instanceOf func(i int) string) []supervisor.Event {
	t.Helper()
	release := make(chan struct{})
	var once sync.Once
	s, total, publish := recordSub(t, func(m *nats.Msg) (supervisor.Event, error) {
		once.Do(func() { <-release })
		return recordEventOf(m)
	})
	for i := range sent {
		publish(instanceOf(i), i)
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

// TestRecordHeldBehindOthersGoesOn: a record held while messages the
// subscription passes over keep its queue from emptying (a host the
// fleet does not select, flooding) goes on after gatherRecords of them,
// not when the queue empties: here it never does until the record is out.
func TestRecordHeldBehindOthersGoesOn(t *testing.T) {
	const others = gatherRecords + 100
	release, out := make(chan struct{}), make(chan struct{})
	var first, stuck sync.Once
	s, _, publish := recordSub(t, func(m *nats.Msg) (supervisor.Event, error) {
		first.Do(func() { <-release })
		if m.Header.Get(HeaderInstance) != "picked" {
			if m.Header.Get(HeaderInstance) == "last" {
				stuck.Do(func() { <-out }) // the queue stays non-empty until the record is out
			}
			return supervisor.Event{}, errNotPicked
		}
		return recordEventOf(m)
	})
	defer close(out)
	publish("other", 0) // the first message, held until the rest wait
	publish("picked", 1)
	for i := range others {
		publish("other", 2+i)
	}
	publish("last", others+2)
	publish("other", others+3)
	testutil.WaitUntil(t, "every message waiting in the NATS client's queue", 10*time.Second, func() bool {
		n, _, err := s.subs[0].Pending()
		return err == nil && n == others+4
	})
	close(release)
	select {
	case ev := <-s.q.C():
		if len(ev.Records) != 1 || ev.Records[0].Fields["seq"] != "1" {
			t.Fatalf("want the picked record, got %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the picked record was held behind the others")
	}
}
