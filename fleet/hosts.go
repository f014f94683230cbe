package fleet

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/plugvisor/plugvisor/control"
	"github.com/plugvisor/plugvisor/supervisor"
)

// FleetOptions configure StartFleet.
type FleetOptions struct {
	Conn   *nats.Conn
	Prefix string // the fleet's subject prefix; default "plugvisor"
	// Selector limits the fleet to the hosts it picks; the zero value
	// picks every host.
	Selector Selector
	// DiscoverEvery is how often `$SRV.PING.plugvisor` is asked who
	// serves; DiscoverWait how long each round collects answers.
	// Defaults DefaultDiscoverEvery and DefaultDiscoverWait.
	DiscoverEvery, DiscoverWait time.Duration
	// UnreachableAfter is how long a host may go without answering (a
	// discovery round or a call) before it is shown as unreachable.
	// Default DefaultUnreachableAfter.
	UnreachableAfter time.Duration
	// CallTimeout bounds each host's part of a call over many hosts
	// (Snapshot, Info, History), so one slow host delays the rest by at
	// most that. Default DefaultCallTimeout.
	CallTimeout time.Duration
	// MaxHosts bounds the hosts the fleet keeps; the discovery answers
	// of more are counted (FleetInfo.HostsRefused) and left out.
	// Default DefaultMaxHosts.
	MaxHosts int
	// MaxRows bounds the instances' rows the fleet keeps, all hosts
	// told (each host's answer is bounded by the server's max payload,
	// but not their sum): a host's rows beyond are left out of the
	// snapshot and counted in Info. Default DefaultMaxRows.
	MaxRows int
	// Now is the clock of hosts' last-seen times and of judging them
	// unreachable. Default time.Now.
	Now func() time.Time
}

// Defaults of FleetOptions. A host that stops answering is unreachable
// after at most UnreachableAfter plus one discovery round (DiscoverEvery +
// DiscoverWait): about 7.5 s by default. A call that finds no responders
// marks it unreachable at once.
const (
	DefaultDiscoverEvery    = 2 * time.Second
	DefaultDiscoverWait     = 500 * time.Millisecond
	DefaultUnreachableAfter = 5 * time.Second
	DefaultCallTimeout      = 2 * time.Second
	DefaultMaxHosts         = 1024
	DefaultMaxRows          = 64 << 10
)

// maxPingAnswer bounds one discovery answer's bytes; a bigger one is not
// a plugvisor's and is skipped.
const maxPingAnswer = 16 << 10

// Fleet is the operator API over every host that answers on NATS: it
// implements supervisor.API by merging hosts' statuses and events, names
// being qualified "HOST/NAME" (supervisor.QualifiedName), and routes every
// action to the host its name names. Hosts are found by discovery, and
// join once they answer on their own API subject (see seen), or by the
// selector naming them; a host that stops answering is kept, its last
// rows marked HostUnreachable, never dropped.
type Fleet struct {
	nc   *nats.Conn
	o    FleetOptions
	stop context.CancelFunc
	done chan struct{}

	mu      sync.Mutex
	hosts   map[string]*fleetHost
	refused uint64 // discovery answers beyond MaxHosts
	// disowned: hosts a discovery answer named that did not confirm it on
	// their own API subject (nobody serves them, or their labels are not
	// those the answer claimed): forged answers, or a mistaken config.
	disowned uint64
	rounds   uint64 // discovery rounds done
	rows     int    // the rows kept, all hosts told
	cutRows  uint64 // rows left out to stay within MaxRows

	dropped atomic.Uint64 // events the fleet's subscribers lost, all told
}

// fleetHost is what the fleet knows of one host.
type fleetHost struct {
	name     string
	client   *Client
	labels   map[string]string
	lastSeen time.Time
	// answered: it has answered a call under this prefix (a discovery
	// answer alone may be another prefix's host of the same name).
	answered bool
	// named: the selector names it, so it is asked and shown even when
	// nothing answers as it.
	named        bool
	noResponders bool // the last call found no one serving it
	rows         []supervisor.PluginStatus
	info         supervisor.Info // the last Info it gave, at infoAt
	infoAt       time.Time
}

var _ supervisor.API = (*Fleet)(nil)

// StartFleet runs one discovery round, so the fleet knows the hosts that
// answer when it returns, then keeps discovering every DiscoverEvery until
// Close or ctx ends. The connection stays the caller's.
func StartFleet(ctx context.Context, o FleetOptions) (*Fleet, error) {
	if o.Conn == nil {
		return nil, errors.New("fleet: no NATS connection")
	}
	o.Prefix = cmp.Or(o.Prefix, "plugvisor")
	o.DiscoverEvery = cmp.Or(o.DiscoverEvery, DefaultDiscoverEvery)
	o.DiscoverWait = cmp.Or(o.DiscoverWait, DefaultDiscoverWait)
	o.UnreachableAfter = cmp.Or(o.UnreachableAfter, DefaultUnreachableAfter)
	o.CallTimeout = cmp.Or(o.CallTimeout, DefaultCallTimeout)
	o.MaxHosts = cmp.Or(o.MaxHosts, DefaultMaxHosts)
	o.MaxRows = cmp.Or(o.MaxRows, DefaultMaxRows)
	if o.Now == nil {
		o.Now = time.Now
	}
	f := &Fleet{nc: o.Conn, o: o, hosts: map[string]*fleetHost{}, done: make(chan struct{})}
	for _, h := range o.Selector.Named() {
		f.name(h)
	}
	if err := f.discover(ctx); err != nil {
		return nil, err
	}
	lctx, stop := context.WithCancel(ctx)
	f.stop = stop
	go f.loop(lctx)
	return f, nil
}

// Close stops discovery and waits until it has.
func (f *Fleet) Close() {
	f.stop()
	<-f.done
}

func (f *Fleet) loop(ctx context.Context) {
	defer close(f.done)
	t := time.NewTicker(f.o.DiscoverEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = f.discover(ctx) // a failed round is the next one's to mend
		}
	}
}

// discover asks every plugvisor service to say who it is, keeps those the
// selector picks, and has each new host (and each the last call found no
// one serving) confirm itself on its own API subject. The answers are read
// for DiscoverWait.
func (f *Fleet) discover(ctx context.Context) error {
	inbox := f.nc.NewRespInbox()
	sub, err := f.nc.SubscribeSync(inbox)
	if err != nil {
		return fmt.Errorf("fleet discovery: %w", err)
	}
	defer sub.Unsubscribe()
	if err := f.nc.PublishRequest("$SRV.PING."+ServiceName, inbox, nil); err != nil {
		return fmt.Errorf("fleet discovery: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, f.o.DiscoverWait)
	defer cancel()
	unsure := map[string]*fleetHost{}
	for {
		m, err := sub.NextMsgWithContext(wctx)
		if err != nil {
			break // the round's time is up
		}
		if h := f.seen(m, len(unsure)); h != nil {
			unsure[h.name] = h
		}
	}
	f.refresh(ctx, slices.Collect(maps.Values(unsure)))
	f.mu.Lock()
	f.rounds++
	f.mu.Unlock()
	return ctx.Err()
}

// seen takes in one discovery answer, and returns the host it names if
// that host is still to confirm itself: one of the fleet's that the last
// call found no one serving, or one new to it, not yet in the fleet. A
// discovery answer proves nothing: any host may publish one in another's
// name, or in the names of hosts that do not exist. So what the fleet
// keeps of a host (that it is one, its labels, that it serves) comes from
// calls on the host's API subjects, which only that host may serve (see
// NATSConfig). unsure is how many hosts the round has to confirm already.
func (f *Fleet) seen(m *nats.Msg, unsure int) *fleetHost {
	if len(m.Data) > maxPingAnswer {
		return nil
	}
	var p micro.Ping
	if json.Unmarshal(m.Data, &p) != nil || p.Name != ServiceName {
		return nil
	}
	name := p.Metadata["host"]
	if !validToken(name) {
		return nil
	}
	if prefix, ok := p.Metadata["prefix"]; ok && prefix != f.o.Prefix {
		return nil // another fleet's host, in the same account
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if h, ok := f.hosts[name]; ok {
		h.lastSeen = f.o.Now()
		if h.infoAt.IsZero() || h.noResponders {
			return h
		}
		return nil
	}
	// The labels it claims only spare asking a host the selector would
	// leave out; those the host gives itself decide.
	if !f.o.Selector.Match(name, discoveryLabels(p.Metadata)) {
		return nil
	}
	if len(f.hosts)+unsure >= f.o.MaxHosts {
		f.refused++
		return nil
	}
	return &fleetHost{name: name, client: f.newClient(name), lastSeen: f.o.Now()}
}

func discoveryLabels(md map[string]string) map[string]string {
	labels := map[string]string{}
	for k, v := range md {
		if l, ok := strings.CutPrefix(k, "label."); ok {
			labels[l] = v
		}
	}
	return labels
}

// Bounds on a host's labels as the fleet keeps them (the config allows
// no more): more, or longer, are left out.
const (
	maxHostLabels     = 32
	maxHostLabelBytes = 64
)

func boundLabels(in map[string]string) map[string]string {
	out := make(map[string]string, min(len(in), maxHostLabels))
	for _, k := range slices.Sorted(maps.Keys(in)) {
		if v := in[k]; len(out) < maxHostLabels && len(k) <= maxHostLabelBytes && len(v) <= maxHostLabelBytes {
			out[k] = v
		}
	}
	return out
}

// refresh asks each host its Info and labels on its own API subject: what
// a host says there is its own. A new host that answers joins the fleet;
// one that nobody serves does not. A host whose labels leave the
// selector is no longer of the fleet, unless the selector names it.
func (f *Fleet) refresh(ctx context.Context, hosts []*fleetHost) {
	f.each(ctx, hosts, func(ctx context.Context, h *fleetHost) error {
		in, err := h.client.HostInfo(ctx)
		f.mu.Lock()
		defer f.mu.Unlock()
		kept := f.hosts[h.name] == h
		switch {
		case err != nil && !kept && errors.Is(err, ErrNoResponders):
			f.disowned++
			return err
		case err != nil:
			return err
		}
		labels := boundLabels(in.Labels)
		if old, ok := f.hosts[h.name]; ok && !kept {
			h, kept = old, true // made by a call naming it meanwhile
		}
		h.info, h.infoAt, h.labels = infoCounters(in.Info), time.Now(), labels
		switch {
		case !h.named && !f.o.Selector.Match(h.name, labels):
			if kept {
				delete(f.hosts, h.name)
				f.rows -= len(h.rows)
			}
			f.disowned++
		case kept:
		case len(f.hosts) >= f.o.MaxHosts:
			f.refused++
		default:
			h.answered = true
			f.hosts[h.name] = h
		}
		return nil
	})
}

// infoCounters is what the fleet's Info sums of a host's: its counters,
// not its lists and paths, so a host's Info costs the fleet a few bytes.
func infoCounters(in supervisor.Info) supervisor.Info {
	return supervisor.Info{Started: in.Started, HeartbeatTimeout: in.HeartbeatTimeout,
		DroppedEvents: in.DroppedEvents, DroppedEventBytes: in.DroppedEventBytes,
		RefusedConns: in.RefusedConns, ShedConns: in.ShedConns,
		HistoryDropped: in.HistoryDropped, HistoryDroppedBytes: in.HistoryDroppedBytes}
}

// lookup is the fleet's entry of name, or one made for a call and not
// kept, so a mistaken name does not stay in the fleet as a host that is
// down.
func (f *Fleet) lookup(name string) (h *fleetHost, known bool) {
	f.mu.Lock()
	h, known = f.hosts[name]
	f.mu.Unlock()
	if !known {
		h = &fleetHost{name: name, client: f.newClient(name)}
	}
	return h, known
}

// name marks host as named by a selector: asked and shown whatever it
// does.
func (f *Fleet) name(host string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hostLocked(host).named = true
}

func (f *Fleet) hostLocked(name string) *fleetHost {
	h, ok := f.hosts[name]
	if !ok {
		h = &fleetHost{name: name, client: f.newClient(name)}
		f.hosts[name] = h
	}
	return h
}

func (f *Fleet) newClient(host string) *Client {
	return NewClient(ClientOptions{Conn: f.nc, Subjects: Subjects{Prefix: f.o.Prefix, Host: host}})
}

// HostState is one host as the fleet sees it.
type HostState struct {
	Name        string            `json:"host"`
	Labels      map[string]string `json:"labels,omitempty"`
	LastSeen    time.Time         `json:"last_seen,omitzero"`
	Unreachable bool              `json:"unreachable,omitempty"`
	// Confirmed: the host has answered a call under the fleet's prefix.
	Confirmed bool `json:"confirmed"`
}

// Hosts is every host the fleet knows, by name: those discovery found and
// those the selector names.
func (f *Fleet) Hosts() []HostState {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.o.Now()
	out := make([]HostState, 0, len(f.hosts))
	for _, name := range slices.Sorted(maps.Keys(f.hosts)) {
		h := f.hosts[name]
		out = append(out, HostState{Name: name, Labels: maps.Clone(h.labels), LastSeen: h.lastSeen,
			Unreachable: f.unreachableLocked(h, now), Confirmed: h.answered})
	}
	return out
}

// unreachableLocked: the host has been silent for UnreachableAfter, or
// the last call found no one serving it. One never seen is unreachable.
func (f *Fleet) unreachableLocked(h *fleetHost, now time.Time) bool {
	return h.noResponders || h.lastSeen.IsZero() || now.Sub(h.lastSeen) > f.o.UnreachableAfter
}

// answer records how a call to host went: an answer (an error from the
// host's engine is one too) makes it seen; no responders makes it
// unreachable at once.
func (f *Fleet) answer(h *fleetHost, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case err == nil || isHostAnswer(err):
		h.lastSeen, h.answered, h.noResponders = f.o.Now(), true, false
	case errors.Is(err, ErrNoResponders):
		// Only an answer on its API subject clears it: a discovery
		// answer may be anyone's.
		h.noResponders = true
	}
}

// isHostAnswer: the error came back from the host's engine, so the host
// is there.
func isHostAnswer(err error) bool {
	var ce *control.Error
	return errors.As(err, &ce)
}

// Pick is the hosts of the fleet sel picks, sorted: those it names
// outright, whatever they did, and the others that answer and match.
func (f *Fleet) Pick(sel Selector) []string {
	named := sel.Named()
	var out []string
	for _, h := range f.Hosts() {
		// Labels are those the host gave on its own API subject: a host
		// that has not confirmed itself is picked only by its name.
		if slices.Contains(named, h.Name) || (named == nil && h.Confirmed && !h.Unreachable && sel.Match(h.Name, h.Labels)) {
			out = append(out, h.Name)
		}
	}
	for _, n := range named {
		if !slices.Contains(out, n) && f.o.Selector.Match(n, nil) {
			f.name(n)
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// PickHosts is Pick of a selector's text, for a script's steps (see
// script.HostPicker).
func (f *Fleet) PickHosts(_ context.Context, selector string) ([]string, error) {
	sel, err := ParseSelector(selector)
	if err != nil {
		return nil, err
	}
	return f.Pick(sel), nil
}
