package fleet

import (
	"context"
	"errors"
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
// twice SubscriptionPendingBytes in the NATS client's queues in front of
// the subscriptions (eventSubjects), shared among them; what does not fit
// is dropped and told in an EventDropped. With a label selector, a host's messages are passed only
// once discovery has found it (its labels are known then).
func (f *Fleet) Subscribe(ctx context.Context, buffer int) (<-chan supervisor.Event, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	total := &f.dropped
	subjects := f.eventSubjects()
	s := &eventSub{q: lossy.New(buffer, total, droppedNotice).WithBudget(control.ClientEventBytes, eventSize), total: total,
		runs: runsPerHost * f.o.MaxHosts, pending: max(2*SubscriptionPendingBytes/len(subjects), minPendingBytes)}
	evt, rec := f.o.Prefix+".evt.", f.o.Prefix+".rec."
	for _, subject := range subjects {
		prefix, decode, records := evt, eventOf, false
		if strings.HasPrefix(subject, rec) {
			prefix, decode, records = rec, recordEventOf, true
		}
		if err := s.add(f.nc, subject, buffer, f.picked(prefix, decode), records); err != nil {
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
	// The server refuses a subscription it does not permit after taking
	// it, before the flush's answer: a refusal is known here, and an
	// operator scoped to some hosts must not watch a silent console.
	if err := refused(f.nc.LastError(), subjects); err != nil {
		s.close()
		return nil, nil, fmt.Errorf("fleet: subscribe: %w (an operator allowed only some hosts picks them by name: --select host=a|b)", err)
	}
	stop := context.AfterFunc(ctx, s.close)
	return s.q.C(), func() { stop(); s.close() }, nil
}

// minPendingBytes is the least a subscription's queue in the NATS client
// may hold, however many hosts share the fleet's.
const minPendingBytes = 256 << 10

// eventSubjects are what Subscribe listens on: every host's events and
// records, or, when the selector names its hosts, theirs alone, so that
// an operator whose permissions cover only those hosts (fleet
// nats-config's @host1,host2) can watch them and a fleet of a few hosts
// is not sent every host's records to drop.
func (f *Fleet) eventSubjects() []string {
	hosts := f.o.Selector.Named()
	if len(hosts) == 0 || len(hosts) > f.o.MaxHosts {
		return []string{f.o.Prefix + ".evt.*.>", f.o.Prefix + ".rec.*.>"}
	}
	out := make([]string, 0, 2*len(hosts))
	for _, kind := range []string{".evt.", ".rec."} {
		for _, h := range hosts {
			out = append(out, f.o.Prefix+kind+h+".>")
		}
	}
	return out
}

// refused is err when it is the server's refusal of one of subjects.
func refused(err error, subjects []string) error {
	if err == nil || !errors.Is(err, nats.ErrPermissionViolation) {
		return nil
	}
	for _, s := range subjects {
		if strings.Contains(err.Error(), `"`+s+`"`) {
			return err
		}
	}
	return nil
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
