package control_test

import (
	"context"
	"strings"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// fakeAPI stands in for the supervisor only where the real engine cannot
// produce the condition on demand: a subscription whose channel already
// holds a burst, or lifecycle operations that never return. Methods it does
// not override panic (the embedded interface is nil).
type fakeAPI struct {
	supervisor.API
	burst []supervisor.Event // queued in every subscription's channel before it is returned
	stall chan struct{}      // Start, Stop, Restart and Reload wait for it to close
}

func (f *fakeAPI) Info(context.Context) (supervisor.Info, error) {
	return supervisor.Info{Name: "fake"}, nil
}

func (f *fakeAPI) Snapshot(context.Context) ([]supervisor.PluginStatus, error) {
	return []supervisor.PluginStatus{{Name: "p", Instance: "p", State: supervisor.StateRunning}}, nil
}

func (f *fakeAPI) Subscribe(context.Context, int) (<-chan supervisor.Event, func(), error) {
	ch := make(chan supervisor.Event, len(f.burst))
	for _, ev := range f.burst {
		ch <- ev
	}
	return ch, func() {}, nil
}

// wait stalls until the test releases it, as a server whose engine never
// answers would; it ignores ctx on purpose, so only the client's own
// deadline can end the caller's wait.
func (f *fakeAPI) wait() error { <-f.stall; return nil }

func (f *fakeAPI) Start(context.Context, string) error   { return f.wait() }
func (f *fakeAPI) Stop(context.Context, string) error    { return f.wait() }
func (f *fakeAPI) Restart(context.Context, string) error { return f.wait() }
func (f *fakeAPI) Reload(context.Context) error          { return f.wait() }

// recordsBurst is n records events of recs records each, about 100 bytes a
// record on the wire.
func recordsBurst(n, recs int) []supervisor.Event {
	batch := make([]protocol.Record, recs)
	for i := range batch {
		batch[i] = protocol.Record{Timestamp: int64(i), Fields: map[string]string{"data_type": "x", "v": strings.Repeat("y", 80)}}
	}
	evs := make([]supervisor.Event, n)
	for i := range evs {
		evs[i] = supervisor.Event{Type: supervisor.EventRecords, Time: time.Now(), Plugin: "p", Instance: "p", Records: batch}
	}
	return evs
}
