package control_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/control"
	ct "github.com/plugvisor/plugvisor/control/controltest"
	"github.com/plugvisor/plugvisor/supervisor"
)

// historyAPI answers History with events the engine cannot make on demand:
// task events whose names are long, so that their encoding (plugin,
// instance and token twice over) passes the engine's estimate of them.
type historyAPI struct {
	supervisor.API
	events []supervisor.Event
}

func (historyAPI) Info(context.Context) (supervisor.Info, error) { return supervisor.Info{}, nil }

func (h historyAPI) History(context.Context, supervisor.HistoryQuery) ([]supervisor.Event, error) {
	return h.events, nil
}

func longTaskEvent(i int) supervisor.Event {
	name, token := strings.Repeat("p", 200), strings.Repeat("t", 64)
	return supervisor.Event{Type: supervisor.EventTask, Time: time.Unix(int64(i), 0), Plugin: name, Instance: name + ".1",
		Task: &supervisor.TaskEvent{Token: token, Outcome: supervisor.OutcomeAnswered,
			Reply: supervisor.Reply{Plugin: name, Instance: name + ".1", Token: token, Outcome: supervisor.OutcomeAnswered, Status: "ok"}}}
}

// TestHistoryFitsByItsEncoding: a history beyond a frame comes back as its
// newest events that fit by their real encoding, and says how many it left
// out; a newest event alone too large for a frame says so too.
func TestHistoryFitsByItsEncoding(t *testing.T) {
	const maxFrame = 8 << 10
	var evs []supervisor.Event
	for i := range 40 {
		evs = append(evs, longTaskEvent(i))
	}
	socket, _ := ct.ServeAPI(t, historyAPI{events: evs}, func(s *control.Server) { s.MaxFrame = maxFrame })
	c := ct.DialSocket(t, socket)
	page, err := c.HistoryPage(context.Background(), supervisor.HistoryQuery{})
	if err != nil {
		t.Fatalf("history beyond a frame: %v", err)
	}
	if len(page.Events) == 0 || page.Omitted != len(evs)-len(page.Events) || !page.Events[len(page.Events)-1].Time.Equal(evs[len(evs)-1].Time) {
		t.Fatalf("%d events, %d omitted, of %d: want the newest that fit, the rest counted", len(page.Events), page.Omitted, len(evs))
	}

	big := longTaskEvent(99)
	big.Task.Content = strings.Repeat("c", 2*maxFrame)
	socket, _ = ct.ServeAPI(t, historyAPI{events: append(evs[:3:3], big)}, func(s *control.Server) { s.MaxFrame = maxFrame })
	page, err = ct.DialSocket(t, socket).HistoryPage(context.Background(), supervisor.HistoryQuery{})
	if err != nil || len(page.Events) != 0 || page.Omitted != 4 {
		t.Fatalf("newest event beyond a frame: %d events, %d omitted, %v; want none, 4 omitted", len(page.Events), page.Omitted, err)
	}
}
