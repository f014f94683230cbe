package supervisor

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
)

// TestHistoryOrdersByPublishing: events of many instances published in
// the same instant come back in the order they were published, whatever
// the order of the instances' map; n takes the newest.
func TestHistoryOrdersByPublishing(t *testing.T) {
	h := newHistory(0)
	t0 := time.Unix(1000, 0)
	b := newBus(func() int64 { return 1 << 20 }, h.keep)
	for i := range 40 {
		id := fmt.Sprint("p", i%10)
		b.publish(Event{Type: EventState, Time: t0, Plugin: id, Instance: id, Reason: fmt.Sprint(i)})
	}
	for _, n := range []int{0, 7} {
		got, err := h.query(HistoryQuery{N: n}, func(string) bool { return true })
		if err != nil {
			t.Fatal(err)
		}
		first := 0
		if n > 0 {
			first = 40 - n
		}
		if n > 0 && len(got) != n || n == 0 && len(got) != 40 {
			t.Fatalf("n %d: %d events", n, len(got))
		}
		for i, e := range got {
			if e.Reason != fmt.Sprint(first+i) {
				t.Fatalf("n %d: event %d is the %s published", n, i, e.Reason)
			}
		}
	}
}

// TestHistoryTaskFitsItsShare: a task whose final reply record and content
// are each beyond an instance's share is kept within it, the cut counted
// and marked.
func TestHistoryTaskFitsItsShare(t *testing.T) {
	const perInstance = 64 << 10
	h := newHistory(perInstance)
	big := protocol.Record{Token: "t", Fields: map[string]string{"data": strings.Repeat("r", 40<<10)}}
	e := Event{Type: EventTask, Time: time.Unix(1, 0), Plugin: "p", Instance: "p", Task: &TaskEvent{
		Token: "t", Content: strings.Repeat("c", 40<<10), Outcome: OutcomeAnswered,
		Reply: Reply{Token: "t", Outcome: OutcomeAnswered, Records: []protocol.Record{big, big}}}}
	h.keep(e)
	got, _ := h.query(HistoryQuery{Types: []EventType{EventTask}}, func(string) bool { return true })
	if len(got) != 1 {
		t.Fatalf("%d tasks kept", len(got))
	}
	kept := got[0]
	if kept.Size() > perInstance/4 || kept.Task.Reply.Dropped != 2 || !strings.Contains(kept.Task.Content, "bytes)") {
		t.Fatalf("task kept at %d bytes (share %d), %d reply records dropped, content %d bytes",
			kept.Size(), perInstance/4, kept.Task.Reply.Dropped, len(kept.Task.Content))
	}
	if len(e.Task.Reply.Records) != 2 || len(e.Task.Content) != 40<<10 {
		t.Fatal("fitting the kept task changed the published one")
	}
}
