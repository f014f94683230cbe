package fleet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
)

// ErrUnqualified is a name given to a fleet without the host it is on.
var ErrUnqualified = errors.New("a name on a fleet is HOST" + supervisor.HostSeparator + "NAME")

// MaxFleetHistoryBytes bounds what History merges from many hosts: the
// oldest events beyond it are left out.
const MaxFleetHistoryBytes = 16 << 20

// route is the host a qualified name is on and the name there.
func (f *Fleet) route(name string) (*fleetHost, string, error) {
	host, local, ok := supervisor.SplitHost(name)
	switch {
	case !ok || host == "" || local == "":
		return nil, "", fmt.Errorf("%q: %w (e.g. edge-1%secho): %w", name, ErrUnqualified, supervisor.HostSeparator, supervisor.ErrUnknownPlugin)
	case !validToken(host):
		return nil, "", fmt.Errorf("%q: host %q is no host name (letters, digits, '_' or '-'): %w", name, host, supervisor.ErrUnknownPlugin)
	}
	h, known := f.lookup(host)
	if !known && !f.o.Selector.Match(host, nil) {
		return nil, "", fmt.Errorf("%q: host %s is not in this fleet (%s): %w", name, host, f.o.Selector, supervisor.ErrUnknownPlugin)
	}
	return h, local, nil
}

// InfoMaxAge is how long the fleet keeps a host's Info before asking
// again.
const InfoMaxAge = 10 * time.Second

// staleInfo is the hosts asked whose Info is missing or InfoMaxAge old.
func (f *Fleet) staleInfo() []*fleetHost {
	hosts := f.asked()
	f.mu.Lock()
	defer f.mu.Unlock()
	out := hosts[:0]
	for _, h := range hosts {
		if time.Since(h.infoAt) >= InfoMaxAge {
			out = append(out, h)
		}
	}
	return out
}

// asked is the hosts a call over many hosts asks: every one not silent
// for UnreachableAfter (asking those would only wait out CallTimeout),
// and those the selector names, whatever they did.
func (f *Fleet) asked() []*fleetHost {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.o.Now()
	var out []*fleetHost
	for _, h := range f.hosts {
		silent := !h.lastSeen.IsZero() && now.Sub(h.lastSeen) > f.o.UnreachableAfter
		if h.named || !silent {
			out = append(out, h)
		}
	}
	slices.SortFunc(out, func(a, b *fleetHost) int { return cmp.Compare(a.name, b.name) })
	return out
}

// each calls fn for every host concurrently, each with its own share of
// ctx bounded by CallTimeout, and records how each went.
func (f *Fleet) each(ctx context.Context, hosts []*fleetHost, fn func(context.Context, *fleetHost) error) []error {
	errs := make([]error, len(hosts))
	inParallel(hosts, func(i int, h *fleetHost) {
		hctx, cancel := context.WithTimeout(ctx, f.o.CallTimeout)
		defer cancel()
		errs[i] = fn(hctx, h)
		f.answer(h, errs[i])
	})
	return errs
}

// Snapshot implements supervisor.API: every host's instances, qualified,
// host by host in name order. A host that does not answer keeps its last
// rows, marked HostUnreachable once it is; a host that never answered
// has none. Only ctx ending or the connection closing is an error.
func (f *Fleet) Snapshot(ctx context.Context) ([]supervisor.PluginStatus, error) {
	f.each(ctx, f.asked(), func(ctx context.Context, h *fleetHost) error {
		rows, err := h.client.Snapshot(ctx)
		if err != nil {
			return err
		}
		for i := range rows {
			qualify(&rows[i], h.name)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.hosts[h.name] != h {
			return nil // left the fleet meanwhile
		}
		room := max(f.o.MaxRows-(f.rows-len(h.rows)), 0)
		if len(rows) > room {
			f.cutRows += uint64(len(rows) - room)
			rows = slices.Clip(rows[:room])
		}
		f.rows += len(rows) - len(h.rows)
		h.rows = rows
		return nil
	})
	if err := cmp.Or(ctx.Err(), f.connErr()); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.o.Now()
	var out []supervisor.PluginStatus
	for _, name := range slices.Sorted(maps.Keys(f.hosts)) {
		h := f.hosts[name]
		unreachable := f.unreachableLocked(h, now)
		for _, r := range h.rows {
			r.HostLabels, r.HostLastSeen, r.HostUnreachable = h.labels, h.lastSeen, unreachable
			out = append(out, r)
		}
	}
	return out, nil
}

func qualify(r *supervisor.PluginStatus, host string) {
	r.Host = host
	r.Name = supervisor.QualifiedName(host, r.Name)
	r.Instance = supervisor.QualifiedName(host, r.Instance)
}

func (f *Fleet) connErr() error {
	if f.nc.IsClosed() {
		return ErrConnClosed
	}
	return nil
}

// Info implements supervisor.API: the fleet as one engine. Name is
// "fleet", Host says how many hosts answer; the counters are the sums of
// the hosts' that answered, HeartbeatTimeout the longest. A host's Info
// is asked again only once the one kept is InfoMaxAge old: a console asks
// for Info with every snapshot.
func (f *Fleet) Info(ctx context.Context) (supervisor.Info, error) {
	out := supervisor.Info{Name: "fleet", PID: os.Getpid(), DroppedEvents: f.dropped.Load()}
	f.refresh(ctx, f.staleInfo())
	f.mu.Lock()
	for _, h := range f.hosts {
		if h.infoAt.IsZero() {
			continue
		}
		in := h.info
		out.DroppedEvents += in.DroppedEvents
		out.DroppedEventBytes += in.DroppedEventBytes
		out.RefusedConns += in.RefusedConns
		out.ShedConns += in.ShedConns
		out.HistoryDropped += in.HistoryDropped
		out.HistoryDroppedBytes += in.HistoryDroppedBytes
		out.HeartbeatTimeout = max(out.HeartbeatTimeout, in.HeartbeatTimeout)
		if out.Started.IsZero() || in.Started.Before(out.Started) {
			out.Started = in.Started
		}
	}
	f.mu.Unlock()
	if err := cmp.Or(ctx.Err(), f.connErr()); err != nil {
		return supervisor.Info{}, err
	}
	hosts := f.Hosts()
	down := 0
	for _, h := range hosts {
		if h.Unreachable {
			down++
		}
	}
	out.Host = fmt.Sprintf("%d hosts (%s), %d unreachable", len(hosts), f.o.Selector, down)
	f.mu.Lock()
	if f.refused > 0 {
		out.Containment = append(out.Containment, "hosts beyond the fleet's bound of "+strconv.Itoa(f.o.MaxHosts)+" left out: "+strconv.FormatUint(f.refused, 10)+" answers")
	}
	if f.cutRows > 0 {
		out.Containment = append(out.Containment, "instances beyond the fleet's bound of "+strconv.Itoa(f.o.MaxRows)+" rows left out of snapshots: "+strconv.FormatUint(f.cutRows, 10))
	}
	if lost := f.presenceDroppedLocked(); lost > 0 {
		out.Containment = append(out.Containment, "presences lost by the fleet not keeping up: "+strconv.FormatUint(lost, 10))
	}
	if f.pingLost > 0 {
		out.Containment = append(out.Containment, "discovery answers lost beyond a round's bound: "+strconv.FormatUint(f.pingLost, 10))
	}
	if f.badPresence > 0 {
		out.Containment = append(out.Containment, "messages on presence subjects that were not a presence of their host, left out: "+strconv.FormatUint(f.badPresence, 10))
	}
	if f.disowned > 0 {
		out.Containment = append(out.Containment, "hosts named in discovery answers that their own API did not confirm, left out: "+strconv.FormatUint(f.disowned, 10))
	}
	f.mu.Unlock()
	return out, nil
}

// Start implements supervisor.API on the host the name names.
func (f *Fleet) Start(ctx context.Context, name string) error {
	return f.on(name, func(h *fleetHost, local string) error { return h.client.Start(ctx, local) })
}

// Stop implements supervisor.API on the host the name names.
func (f *Fleet) Stop(ctx context.Context, name string) error {
	return f.on(name, func(h *fleetHost, local string) error { return h.client.Stop(ctx, local) })
}

// Restart implements supervisor.API on the host the name names.
func (f *Fleet) Restart(ctx context.Context, name string) error {
	return f.on(name, func(h *fleetHost, local string) error { return h.client.Restart(ctx, local) })
}

func (f *Fleet) on(name string, fn func(*fleetHost, string) error) error {
	h, local, err := f.route(name)
	if err != nil {
		return err
	}
	err = fn(h, local)
	f.answer(h, err)
	return err
}

// Reload implements supervisor.API: every host that answers reloads; the
// errors are joined, each naming its host.
func (f *Fleet) Reload(ctx context.Context) error {
	var hosts []*fleetHost
	for _, h := range f.asked() {
		if h.answered {
			hosts = append(hosts, h)
		}
	}
	errs := f.each(ctx, hosts, func(ctx context.Context, h *fleetHost) error { return h.client.Reload(ctx) })
	return errors.Join(errs...)
}

// SendTask implements supervisor.API on the host req.Plugin names; the
// reply names the plugin and instance qualified.
func (f *Fleet) SendTask(ctx context.Context, req supervisor.TaskRequest) (supervisor.Reply, error) {
	h, local, err := f.route(req.Plugin)
	if err != nil {
		return supervisor.Reply{Plugin: req.Plugin, ID: req.ID, Token: req.Token, Outcome: supervisor.OutcomeNotSent}, err
	}
	req.Plugin = local
	r, err := h.client.SendTask(ctx, req)
	f.answer(h, err)
	r.Plugin = supervisor.QualifiedName(h.name, cmp.Or(r.Plugin, local))
	if r.Instance != "" {
		r.Instance = supervisor.QualifiedName(h.name, r.Instance)
	}
	return r, err
}

// Ping implements supervisor.API on the host the name names.
func (f *Fleet) Ping(ctx context.Context, name string) (time.Duration, error) {
	var rtt time.Duration
	err := f.on(name, func(h *fleetHost, local string) error {
		var err error
		rtt, err = h.client.Ping(ctx, local)
		return err
	})
	return rtt, err
}

// Logs implements supervisor.API on the host the name names.
func (f *Fleet) Logs(ctx context.Context, name string, n int) ([]supervisor.LogLine, error) {
	var lines []supervisor.LogLine
	err := f.on(name, func(h *fleetHost, local string) error {
		var err error
		lines, err = h.client.Logs(ctx, local, n)
		for i := range lines {
			lines[i].Instance = supervisor.QualifiedName(h.name, lines[i].Instance)
		}
		return err
	})
	return lines, err
}

// History implements supervisor.API: the host's, for a qualified plugin;
// without one, every answering host's merged in time order, the newest
// q.N kept, within MaxFleetHistoryBytes.
func (f *Fleet) History(ctx context.Context, q supervisor.HistoryQuery) ([]supervisor.Event, error) {
	if q.Plugin != "" {
		var evs []supervisor.Event
		err := f.on(q.Plugin, func(h *fleetHost, local string) error {
			hq := q
			hq.Plugin = local
			var err error
			evs, err = h.client.History(ctx, hq)
			qualifyEvents(evs, h.name)
			return err
		})
		return evs, err
	}
	var mu sync.Mutex
	var all []supervisor.Event
	var size int64 // of all
	f.each(ctx, f.asked(), func(ctx context.Context, h *fleetHost) error {
		evs, err := h.client.History(ctx, q)
		qualifyEvents(evs, h.name)
		var n int64
		for i := range evs {
			n += evs[i].Size()
		}
		mu.Lock()
		defer mu.Unlock()
		all, size = append(all, evs...), size+n
		if size > 2*MaxFleetHistoryBytes {
			// Cut as the answers come, so a thousand hosts' answers
			// are never all held at once.
			all, size = newestHistory(all, q.N)
		}
		return err
	})
	if err := cmp.Or(ctx.Err(), f.connErr()); err != nil {
		return nil, err
	}
	all, _ = newestHistory(all, q.N)
	return all, nil
}

// newestHistory sorts evs in time order and keeps the newest n (all when
// n is 0) within MaxFleetHistoryBytes; it returns them and their size.
func newestHistory(evs []supervisor.Event, n int) ([]supervisor.Event, int64) {
	slices.SortStableFunc(evs, func(a, b supervisor.Event) int { return a.Time.Compare(b.Time) })
	if n > 0 && len(evs) > n {
		evs = evs[len(evs)-n:]
	}
	var size int64
	for i := len(evs) - 1; i >= 0; i-- {
		s := evs[i].Size()
		if size+s > MaxFleetHistoryBytes {
			return slices.Clone(evs[i+1:]), size
		}
		size += s
	}
	return evs, size
}

func qualifyEvents(evs []supervisor.Event, host string) {
	for i := range evs {
		qualifyEvent(&evs[i], host)
	}
}

// qualifyEvent names the event's host and qualifies its names, a task's
// reply's included.
func qualifyEvent(e *supervisor.Event, host string) {
	e.Host = host
	if e.Plugin != "" {
		e.Plugin = supervisor.QualifiedName(host, e.Plugin)
	}
	if e.Instance != "" {
		e.Instance = supervisor.QualifiedName(host, e.Instance)
	}
	if e.Log.Instance != "" {
		e.Log.Instance = supervisor.QualifiedName(host, e.Log.Instance)
	}
	if e.Task != nil {
		t := *e.Task
		if t.Reply.Plugin != "" {
			t.Reply.Plugin = supervisor.QualifiedName(host, t.Reply.Plugin)
		}
		if t.Reply.Instance != "" {
			t.Reply.Instance = supervisor.QualifiedName(host, t.Reply.Instance)
		}
		e.Task = &t
	}
}
