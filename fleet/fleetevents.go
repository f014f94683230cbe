package fleet

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/plugvisor/plugvisor/control"
	"github.com/plugvisor/plugvisor/internal/lossy"
	"github.com/plugvisor/plugvisor/supervisor"
)

// Subscribe implements supervisor.API: the events and records of every
// host the fleet selects, as Client.Subscribe delivers one host's (core
// subjects for events, the records' JetStream subjects read as core
// messages, nothing replayed), each naming its Host with Plugin and
// Instance qualified, a backlog's records gathered into one event per
// instance as there. The same bounds hold, over the fleet as a whole:
// buffer events and control.ClientEventBytes bytes in the queue, and
// SubscriptionPendingBytes in the NATS client's queue in front of each of
// the two subscriptions; what does not fit is dropped and told in an
// EventDropped. With a label selector, a host's messages are passed only
// once discovery has found it (its labels are known then).
func (f *Fleet) Subscribe(ctx context.Context, buffer int) (<-chan supervisor.Event, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	total := &f.dropped
	s := &eventSub{q: lossy.New(buffer, total, droppedNotice).WithBudget(control.ClientEventBytes, eventSize), total: total,
		runs: runsPerHost * f.o.MaxHosts}
	evt, rec := f.o.Prefix+".evt.", f.o.Prefix+".rec."
	for _, sb := range []struct {
		prefix  string
		decode  func(*nats.Msg) (supervisor.Event, error)
		records bool
	}{{evt, eventOf, false}, {rec, recordEventOf, true}} {
		decode := f.picked(sb.prefix, sb.decode)
		if err := s.add(f.nc, sb.prefix+"*.>", buffer, decode, sb.records); err != nil {
			s.close()
			return nil, nil, fmt.Errorf("fleet: subscribe: %w", err)
		}
	}
	fctx, cancel := context.WithTimeout(ctx, f.o.CallTimeout)
	defer cancel()
	if err := f.nc.FlushWithContext(fctx); err != nil {
		s.close()
		return nil, nil, fmt.Errorf("fleet: subscribe: %w", err)
	}
	stop := context.AfterFunc(ctx, s.close)
	return s.q.C(), func() { stop(); s.close() }, nil
}

// runsPerHost is how many runs of each host a fleet's records feed
// remembers to pass a record the link sent again once: a host's run is
// its process, so two cover a restart.
const runsPerHost = 2

// picked wraps decode: a message of a host the fleet does not select is
// passed over, the others' events name their host.
func (f *Fleet) picked(prefix string, decode func(*nats.Msg) (supervisor.Event, error)) func(*nats.Msg) (supervisor.Event, error) {
	return func(m *nats.Msg) (supervisor.Event, error) {
		host, _, _ := strings.Cut(strings.TrimPrefix(m.Subject, prefix), ".")
		if !f.selects(host) {
			return supervisor.Event{}, errNotPicked
		}
		ev, err := decode(m)
		if err != nil {
			return ev, err
		}
		if ev.Type != supervisor.EventDropped {
			qualifyEvent(&ev, host)
		}
		return ev, nil
	}
}

// selects reports whether the fleet's selector picks host, by its labels
// as discovery last found them.
func (f *Fleet) selects(host string) bool {
	if f.o.Selector.All() {
		return true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.hosts[host]
	if !ok {
		return false
	}
	return f.o.Selector.Match(host, h.labels)
}
