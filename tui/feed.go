package tui

import (
	"context"
	"sync"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/supervisor"
)

// Event flow: the engine's bounded Subscribe channel → feed.drain (its own
// goroutine, never blocked by rendering) → a pending batch → folded into the
// store by Update on a ~50 ms tick. The tick runs only while events flow:
// when a fold finds nothing, the model waits on wake instead, so an idle
// console wakes only for its once-a-second snapshot.

const (
	defaultEventBuffer = 16384
	// maxPending bounds the batch between two folds. Past it, log, record
	// and heartbeat events are dropped and counted; state and task events are
	// still kept, being few and what the operator acts on.
	maxPending = 1 << 15
	// maxPendingAll is the hard bound: past it every event is dropped and
	// counted, so a stalled Update cannot make the queue grow without limit.
	// A dropped state change is corrected by the next snapshot.
	maxPendingAll = 2 * maxPending
)

type feed struct {
	mu      sync.Mutex
	pending []supervisor.Event
	spare   []supervisor.Event // the previous batch, reused to spare allocations
	dropped uint64             // dropped by this queue since the last take
	states  bool               // a dropped event was a state change
	cancel  func()
	closed  bool

	wake chan struct{} // a batch became non-empty
	stop chan struct{} // closed by close
	once sync.Once
}

func newFeed() *feed { return &feed{wake: make(chan struct{}, 1), stop: make(chan struct{})} }

// start subscribes and drains in the background. It is a no-op after close.
func (f *feed) start(api supervisor.API, buffer int) error {
	events, cancel, err := api.Subscribe(context.Background(), buffer)
	if err != nil {
		return err
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		cancel()
		return nil
	}
	f.cancel = cancel
	f.mu.Unlock()
	go f.drain(events)
	return nil
}

func (f *feed) drain(events <-chan supervisor.Event) {
	for e := range events {
		f.push(e)
	}
}

func (f *feed) push(e supervisor.Event) {
	f.mu.Lock()
	wasEmpty := len(f.pending) == 0
	if n := len(f.pending); n >= maxPendingAll || (n >= maxPending && droppable(e.Type)) {
		f.dropped++
		f.states = f.states || e.Type == supervisor.EventState
	} else {
		f.pending = append(f.pending, e)
	}
	f.mu.Unlock()
	if wasEmpty {
		select {
		case f.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

func droppable(t supervisor.EventType) bool {
	return t == supervisor.EventLog || t == supervisor.EventRecords || t == supervisor.EventHeartbeat
}

// take hands over the pending batch, how many events were dropped since the
// last take and whether a state change was among them. The batch is only
// valid until the next take: its array is reused.
func (f *feed) take() (batch []supervisor.Event, dropped uint64, states bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	batch, dropped, states = f.pending, f.dropped, f.states
	clear(f.spare) // let the previous batch's records and lines be collected
	if cap(f.spare) > 4096 && len(batch) < 1024 {
		f.spare = nil // the burst is over: give its big array back
	}
	f.pending, f.spare, f.dropped, f.states = f.spare[:0], batch, 0, false
	select {
	case <-f.wake: // this batch's wake-up, if not yet taken, is spent
	default:
	}
	return batch, dropped, states
}

// waitCmd waits for the next wake-up; nil once the feed is closed.
func (f *feed) waitCmd() tea.Cmd {
	return func() tea.Msg {
		select {
		case <-f.wake:
			return wakeMsg{}
		case <-f.stop:
			return nil
		}
	}
}

// close unsubscribes; the drain goroutine ends when the channel closes.
func (f *feed) close() {
	f.once.Do(func() {
		f.mu.Lock()
		f.closed = true
		cancel := f.cancel
		f.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		close(f.stop)
	})
}

type wakeMsg struct{}
