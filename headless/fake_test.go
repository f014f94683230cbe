package headless

import (
	"context"
	"log/slog"
	"sync"

	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor"
)

// fakeAPI is an engine with the parts headless uses: a subscription fed by
// the test and a snapshot naming each instance's log files. Any other
// method panics (the embedded interface is nil).
type fakeAPI struct {
	supervisor.API
	events chan supervisor.Event
	once   sync.Once
}

func newFakeAPI(buffer int) *fakeAPI {
	return &fakeAPI{events: make(chan supervisor.Event, buffer)}
}

func (f *fakeAPI) Subscribe(context.Context, int) (<-chan supervisor.Event, func(), error) {
	return f.events, func() { f.once.Do(func() { close(f.events) }) }, nil
}

func (f *fakeAPI) Snapshot(context.Context) ([]supervisor.PluginStatus, error) {
	var out []supervisor.PluginStatus
	for _, id := range []string{"a", "b"} {
		out = append(out, supervisor.PluginStatus{Instance: id, StdoutLog: "/logs/" + id + ".stdout.log", StderrLog: "/logs/" + id + ".stderr.log"})
	}
	return out, nil
}

func testLogger() (*slog.Logger, *testutil.SyncBuffer) {
	var b testutil.SyncBuffer
	return slog.New(slog.NewTextHandler(&b, nil)), &b
}
