package tui

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
)

// TestFloodOfLargeRecords attaches a console to a real supervisor and pours
// records of 1 MiB into its feed beside the engine's own events, far faster
// than the console can be made to hold them. The console must go on
// answering keys and tasks, say that its own queue dropped events and that
// older records were evicted, and hold no more than its budgets.
func TestFloodOfLargeRecords(t *testing.T) {
	r := startRigWith(t, func(tb testing.TB) string {
		return pluginTOML(tb, "chaos", true, "") + pluginTOML(tb, "echo", true, "")
	})
	r.waitState("echo", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 140, 40)
	c.waitFor("chaos", "echo")

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { flood(c.m.feed, bigRecords(4, 1<<20), stop) })
	defer func() { close(stop); wg.Wait() }()

	c.waitFor("by this console)")
	c.press("2") // chaos is selected: its Data tab
	c.waitFor("older evicted", "kept of 8.0M")
	c.press("4")
	c.waitScreen("Info says what was evicted", func(s string) bool {
		return strings.Contains(s, "kept here") && strings.Contains(s, "records (") && strings.Contains(s, "older evicted")
	})
	c.press("j") // still answering keys under the flood
	c.waitScreen("echo selected", func(s string) bool { return strings.Contains(titleOf(s), "echo") })
	c.press(":")
	c.typeText("send echo 1 still here")
	c.press("enter")
	c.waitFor("echo answered task 1 in")

	c.inspect(func(m *Model) { assertWithinBudgets(t, m) })
}

// flood pushes events into f as an engine drowning in records would, in
// bursts, until stop is closed.
func flood(f *feed, e supervisor.Event, stop <-chan struct{}) {
	e.Plugin, e.Instance = "chaos", "chaos"
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		for range 64 {
			e.Time = time.Now()
			f.push(e)
		}
	}
}

// assertWithinBudgets checks what the console holds against its budgets,
// summing the charges of the items themselves.
func assertWithinBudgets(t *testing.T, m *Model) {
	t.Helper()
	b := m.store.Budgets()
	var total int64
	for _, id := range m.store.Order() {
		recs := m.store.Plugin(id).Records
		var n int64
		for i := range recs.Len() {
			n += recs.At(i).Size()
		}
		if n > b.Records {
			t.Errorf("%s holds %d bytes of records, budget %d", id, n, b.Records)
		}
		total += n
	}
	if total > b.TotalRecords {
		t.Errorf("the store holds %d bytes of records, total budget %d", total, b.TotalRecords)
	}
	m.feed.mu.Lock()
	pending := m.feed.bytes
	m.feed.mu.Unlock()
	if pending > maxPendingBytesAll {
		t.Errorf("the feed holds %d bytes, bound %d", pending, maxPendingBytesAll)
	}
	if m.store.DroppedHere == 0 || m.store.Plugin("chaos").Records.Evicted() == 0 {
		t.Errorf("nothing counted: %d dropped here, %d evicted", m.store.DroppedHere, m.store.Plugin("chaos").Records.Evicted())
	}
}
