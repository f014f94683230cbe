package tui

import (
	"context"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/supervisor"
)

// Event flow: the engine's bounded Subscribe channel → feed.drain (its own
// goroutine, never blocked by rendering) → a pending batch → folded into the
// store by Update: woken by the first event of a batch, the model lets it
// gather for a fold interval (~50 ms) and folds it, so a flood is folded in
// 50 ms batches and an idle console wakes once per burst of events.
// Heartbeats do not wake it: they wait for the once-a-second snapshot
// (feed.beats).

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
	// The same two bounds in bytes (supervisor.Event.Size), since 32,768
	// events of 4 MiB records would be 128 GiB. 32 MiB is over half a
	// second of a 100,000 records/s flood, ten times what one 50 ms fold
	// takes in; the 8 MiB above it leave room for state changes and for
	// task events, whose replies can run to megabytes.
	maxPendingBytes    = 32 << 20
	maxPendingBytesAll = maxPendingBytes + 8<<20
)

type feed struct {
	mu      sync.Mutex
	pending []supervisor.Event
	bytes   int64              // what pending is charged, by Event.Size
	sizes   []int64            // each record of pending's records events, in order: the store charges the same
	spare   []supervisor.Event // the previous batch, reused to spare allocations
	spareSz []int64
	dropped uint64 // dropped by this queue since the last take
	states  bool   // a dropped event was a state change
	// beats holds the latest heartbeat of each instance, until the next
	// snapshot: one instance's older heartbeats say nothing more, so this
	// is bounded by the instances. A heartbeat does not wake the console:
	// it changes an age shown at one-second resolution and a round trip,
	// and the once-a-second snapshot folds it in (it carries the same
	// figures). Waking, folding and painting for each one, one a second per
	// plugin, was most of what an idle console did.
	beats  map[string]supervisor.Event
	cancel func()
	closed bool

	wake chan struct{} // a batch became non-empty
	stop chan struct{} // closed by close
	once sync.Once
}

func newFeed() *feed { return &feed{wake: make(chan struct{}, 1), stop: make(chan struct{})} }

// start subscribes and drains in the background. It is a no-op after close.
func (f *feed) start(api supervisor.API, buffer int) error {
	events, cancel, err := subscribe(api, buffer)
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

// subscribe subscribes to api's events, without heartbeats where api can
// leave them out: the console takes them from the snapshot (feed.beats
// keeps those that still come), and one a second per plugin would wake it
// for nothing.
func subscribe(api supervisor.API, buffer int) (<-chan supervisor.Event, func(), error) {
	if s, ok := api.(supervisor.SkippingSubscriber); ok {
		return s.SubscribeWithout(context.Background(), buffer, supervisor.EventHeartbeat)
	}
	return api.Subscribe(context.Background(), buffer)
}

func (f *feed) drain(events <-chan supervisor.Event) {
	var scratch []int64
	for e := range events {
		scratch = f.pushWith(e, scratch[:0])
	}
}

func (f *feed) push(e supervisor.Event) { f.pushWith(e, nil) }

// pushWith queues e, measuring its records into scratch, which it returns
// for reuse.
func (f *feed) pushWith(e supervisor.Event, scratch []int64) []int64 {
	scratch, size := measure(&e, scratch) // outside the lock: it walks every record's fields
	f.mu.Lock()
	if e.Type == supervisor.EventHeartbeat {
		f.beat(e)
		f.mu.Unlock()
		return scratch
	}
	wake := len(f.pending) == 0
	if f.full(e.Type, size) {
		f.dropped++
		f.states = f.states || e.Type == supervisor.EventState
	} else {
		f.pending = append(f.pending, e)
		f.sizes = append(f.sizes, scratch...)
		f.bytes += size
	}
	f.mu.Unlock()
	if wake {
		select {
		case f.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	return scratch
}

// measure is e.Size(), with what each record of a records event is
// charged appended to sizes.
func measure(e *supervisor.Event, sizes []int64) ([]int64, int64) {
	if e.Type != supervisor.EventRecords {
		return sizes, e.Size()
	}
	recs := e.Records
	e.Records = nil
	size := e.Size()
	e.Records = recs
	for i := range recs {
		n := supervisor.RecordSize(&recs[i])
		sizes = append(sizes, n)
		size += n
	}
	return sizes, size
}

// full says whether an event of type t charged size must be turned away:
// past the soft bounds, in count or bytes, the events the operator does not
// act on; past the hard ones, any.
func (f *feed) full(t supervisor.EventType, size int64) bool {
	n, bytes := len(f.pending), f.bytes+size
	if droppable(t) {
		return n >= maxPending || bytes > maxPendingBytes
	}
	return n >= maxPendingAll || bytes > maxPendingBytesAll
}

func droppable(t supervisor.EventType) bool {
	return t == supervisor.EventLog || t == supervisor.EventRecords || t == supervisor.EventHeartbeat
}

// take hands over the pending batch, how many events were dropped since the
// last take and whether a state change was among them. The batch is only
// valid until the next take: its array is reused.
func (f *feed) take() (batch []supervisor.Event, dropped uint64, states bool) {
	batch, _, dropped, states = f.takeSized()
	return batch, dropped, states
}

// takeSized is take with what each record of the batch was charged, for
// state.Store.ApplySized; valid as long as the batch.
func (f *feed) takeSized() (batch []supervisor.Event, sizes []int64, dropped uint64, states bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	batch, sizes, dropped, states = f.pending, f.sizes, f.dropped, f.states
	clear(f.spare) // let the previous batch's records and lines be collected
	if cap(f.spare) > 4096 && len(batch) < 1024 {
		f.spare, f.spareSz = nil, nil // the burst is over: give its big arrays back
	}
	f.pending, f.spare, f.dropped, f.states, f.bytes = f.spare[:0], batch, 0, false, 0
	f.sizes, f.spareSz = f.spareSz[:0], sizes
	select {
	case <-f.wake: // this batch's wake-up, if not yet taken, is spent
	default:
	}
	return batch, sizes, dropped, states
}

// beat keeps e as its instance's latest heartbeat; f.mu is held.
func (f *feed) beat(e supervisor.Event) {
	if f.beats == nil {
		f.beats = map[string]supervisor.Event{}
	}
	if old, ok := f.beats[e.Instance]; !ok || !old.Time.After(e.Time) {
		f.beats[e.Instance] = e
	}
}

// takeBeats hands over the latest heartbeat of each instance since the
// last call, for the snapshot to fold in.
func (f *feed) takeBeats() []supervisor.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]supervisor.Event, 0, len(f.beats))
	for _, e := range f.beats {
		out = append(out, e)
	}
	clear(f.beats)
	return out
}

// waitCmd waits for the next wake-up, then lets the batch gather for
// gather before handing it over: under a flood the batch fills meanwhile and
// is folded in one go, at most once per gather; idle, the events that come
// together (a record and the log line beside it) cost one fold and one
// frame, not one each. Once the feed is closed it hands over what is still
// pending, then nil.
func (f *feed) waitCmd(gather time.Duration) tea.Cmd {
	return func() tea.Msg {
		select {
		case <-f.wake:
		case <-f.stop:
			return f.leftover()
		}
		t := time.NewTimer(gather)
		defer t.Stop()
		select {
		case <-t.C:
			return wakeMsg{}
		case <-f.stop:
			return f.leftover()
		}
	}
}

// leftover is a last wake-up for events that arrived before close.
func (f *feed) leftover() tea.Msg {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.pending) == 0 && f.dropped == 0 {
		return nil
	}
	return wakeMsg{}
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
