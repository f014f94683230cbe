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
	// DiscoverEvery is how often the hosts are asked who serves (on
	// Discover, answered by presence, and `$SRV.PING.plugvisor`);
	// DiscoverWait how long each round collects answers.
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

// maxPingNames bounds the hosts new to the fleet that one round takes
// from `$SRV.PING` answers alone, to confirm on their own API subject:
// any host may answer a ping in any name, so beyond a few the names
// are counted refused, and made-up names cannot take the round's
// confirmations from hosts that said so on their own presence subject.
// A host of a plugvisor without presence (during a rolling upgrade)
// is found among them.
const maxPingNames = 64

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
	refused uint64 // discovery answers beyond MaxHosts, or beyond maxPingNames
	// disowned: hosts a discovery answer named that did not confirm it on
	// their own API subject (nobody serves them, or their labels are not
	// those the answer claimed): forged answers, or a mistaken config.
	disowned uint64
	rounds   uint64 // discovery rounds done
	rows     int    // the rows kept, all hosts told
	cutRows  uint64 // rows left out to stay within MaxRows

	dropped atomic.Uint64 // events the fleet's subscribers lost, all told

	// presence is the subscriptions to the hosts' presence subjects, nil
	// when the server refuses them (an operator's older config): then
	// only `$SRV.PING` finds hosts. heard is the hosts whose presence came
	// since the last round took it, with the labels they gave (nil for a
	// host whose message was not a presence), at most MaxHosts of them.
	presence []*nats.Subscription
	heard    map[string]map[string]string
	// badPresence: messages on a presence subject that were not a
	// presence of its host (another's name, another prefix, not JSON).
	badPresence uint64
	pingLost    uint64 // `$SRV.PING` answers beyond a round's pending bound
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
	// present: it has given its presence, on a subject only it may
	// publish; from then on a ping answer in its name (anyone's to send)
	// no longer counts as seeing it.
	present bool
	rows    []supervisor.PluginStatus
	info    supervisor.Info // the last Info it gave, at infoAt
	infoAt  time.Time
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
	// The prefix heads every subject the fleet subscribes to: a wildcard
	// there would have it listen to other fleets.
	if err := checkConfPrefix(o.Prefix); err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	o.DiscoverEvery = cmp.Or(o.DiscoverEvery, DefaultDiscoverEvery)
	o.DiscoverWait = cmp.Or(o.DiscoverWait, DefaultDiscoverWait)
	o.UnreachableAfter = cmp.Or(o.UnreachableAfter, DefaultUnreachableAfter)
	o.CallTimeout = cmp.Or(o.CallTimeout, DefaultCallTimeout)
	o.MaxHosts = cmp.Or(o.MaxHosts, DefaultMaxHosts)
	o.MaxRows = cmp.Or(o.MaxRows, DefaultMaxRows)
	if o.Now == nil {
		o.Now = time.Now
	}
	f := &Fleet{nc: o.Conn, o: o, hosts: map[string]*fleetHost{}, heard: map[string]map[string]string{}, done: make(chan struct{})}
	for _, h := range o.Selector.Named() {
		f.name(h)
	}
	if err := f.listenPresence(ctx); err != nil {
		return nil, err
	}
	if err := f.discover(ctx); err != nil {
		f.unlisten()
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
	defer f.unlisten()
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

// discover asks every plugvisor service to say who it is, on its presence
// subject and in a `$SRV.PING` answer, keeps those the selector picks, and
// has each new host (and each the last call found no one serving) confirm
// itself on its own API subject. The answers are read for DiscoverWait.
func (f *Fleet) discover(ctx context.Context) error {
	inbox := f.nc.NewRespInbox()
	sub, err := f.nc.SubscribeSync(inbox)
	if err != nil {
		return fmt.Errorf("fleet discovery: %w", err)
	}
	defer sub.Unsubscribe()
	// Any host may answer a ping, as often and as large as the server
	// lets it: the answers a round keeps unread are bounded, the rest
	// counted lost.
	pending := 2*f.o.MaxHosts + maxPingNames
	_ = sub.SetPendingLimits(pending, pending*maxPingAnswer/4)
	if f.presence != nil {
		if err := f.nc.Publish(Discover(f.o.Prefix), nil); err != nil {
			return fmt.Errorf("fleet discovery: %w", err)
		}
	}
	if err := f.nc.PublishRequest("$SRV.PING."+ServiceName, inbox, nil); err != nil {
		return fmt.Errorf("fleet discovery: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, f.o.DiscoverWait)
	defer cancel()
	r := &round{pinged: map[string]*fleetHost{}, known: map[string]*fleetHost{}}
	for {
		m, err := sub.NextMsgWithContext(wctx)
		if errors.Is(err, nats.ErrSlowConsumer) {
			continue // told once, counted below; the round goes on
		}
		if err != nil {
			break // the round's time is up
		}
		f.seen(m, r)
	}
	if lost, err := sub.Dropped(); err == nil && lost > 0 {
		f.mu.Lock()
		f.pingLost += uint64(lost)
		f.mu.Unlock()
	}
	f.refresh(ctx, f.settle(r))
	f.mu.Lock()
	f.rounds++
	f.mu.Unlock()
	return ctx.Err()
}

// round is what one discovery round found to confirm: hosts of the fleet
// (known), and hosts new to it that only `$SRV.PING` answers named
// (pinged, at most maxPingNames).
type round struct {
	known, pinged map[string]*fleetHost
}

// seen takes in one discovery answer, and notes the host it names in r if
// that host is still to confirm itself: one of the fleet's that the last
// call found no one serving, or one new to it, not yet in the fleet. A
// discovery answer proves nothing: any host may publish one in another's
// name, or in the names of hosts that do not exist. So what the fleet
// keeps of a host (that it is one, its labels, that it serves) comes from
// calls on the host's API subjects, which only that host may serve (see
// NATSConfig); and a round takes few new names from such answers.
func (f *Fleet) seen(m *nats.Msg, r *round) {
	if len(m.Data) > maxPingAnswer {
		return
	}
	var p micro.Ping
	if json.Unmarshal(m.Data, &p) != nil || p.Name != ServiceName {
		return
	}
	name := p.Metadata["host"]
	if !validToken(name) {
		return
	}
	if prefix, ok := p.Metadata["prefix"]; ok && prefix != f.o.Prefix {
		return // another fleet's host, in the same account
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if h, ok := f.hosts[name]; ok {
		if h.present {
			return // its presence, or a call, says it is there
		}
		h.lastSeen = f.o.Now()
		if h.infoAt.IsZero() || h.noResponders {
			r.known[name] = h
		}
		return
	}
	labels, heard := f.heard[name]
	if _, ok := r.pinged[name]; ok || heard && labels != nil {
		return // its presence brings it
	}
	// The labels it claims only spare asking a host the selector would
	// leave out; those the host gives itself decide.
	if !f.o.Selector.Match(name, discoveryLabels(p.Metadata)) {
		return
	}
	if len(r.pinged) >= maxPingNames || len(f.hosts)+len(r.pinged) >= f.o.MaxHosts {
		f.refused++
		return
	}
	r.pinged[name] = &fleetHost{name: name, client: f.newClient(name), lastSeen: f.o.Now()}
}

// settle is what a round has to confirm: the hosts whose presence came
// (those new to the fleet first, within MaxHosts), then the fleet's own
// to confirm again, then the new ones only pings named, in what room
// remains. A presence comes on a subject only its host may publish, so
// it names a host that is there, and no forged ping takes its place.
func (f *Fleet) settle(r *round) []*fleetHost {
	f.mu.Lock()
	defer f.mu.Unlock()
	heard := f.heard
	f.heard = make(map[string]map[string]string, len(heard))
	var out []*fleetHost
	for _, name := range slices.Sorted(maps.Keys(heard)) {
		if heard[name] == nil {
			continue // not a presence: its pings count as anyone's
		}
		delete(r.pinged, name)
		if h, ok := f.hosts[name]; ok {
			h.present = true // and seen when its presence came (hear)
			if h.infoAt.IsZero() || h.noResponders {
				r.known[name] = h
			}
			continue
		}
		if !f.o.Selector.Match(name, heard[name]) {
			continue
		}
		if len(f.hosts)+len(out) >= f.o.MaxHosts {
			f.refused++
			continue
		}
		out = append(out, &fleetHost{name: name, client: f.newClient(name), lastSeen: f.o.Now(), present: true})
	}
	out = append(out, slices.Collect(maps.Values(r.known))...)
	room := f.o.MaxHosts - len(f.hosts) - len(out) + len(r.known)
	for _, name := range slices.Sorted(maps.Keys(r.pinged)) {
		if room <= 0 {
			f.refused++
			continue
		}
		room--
		out = append(out, r.pinged[name])
	}
	return out
}

// listenPresence subscribes to the presence of the hosts the selector
// names, or of every host: an operator scoped to some hosts may read
// only theirs. Where the server refuses (an operator's config older than
// presence, or a scoped operator's fleet over every host), the fleet
// finds hosts by `$SRV.PING` alone.
func (f *Fleet) listenPresence(ctx context.Context) error {
	subjects := []string{AllPresence(f.o.Prefix)}
	if hosts := f.o.Selector.Named(); len(hosts) > 0 && len(hosts) <= f.o.MaxHosts {
		subjects = subjects[:0]
		for _, h := range hosts {
			subjects = append(subjects, Subjects{Prefix: f.o.Prefix, Host: h}.Presence())
		}
	}
	for _, subject := range subjects {
		sub, err := f.nc.Subscribe(subject, f.hear)
		if err != nil {
			f.unlisten()
			return fmt.Errorf("fleet discovery: subscribe to %s: %w", subject, err)
		}
		// A host flooding its own subject loses its messages, bounded
		// here, and can push others' out for a round at most.
		_ = sub.SetPendingLimits(4*f.o.MaxHosts, 4*f.o.MaxHosts*maxPresence/16)
		f.mu.Lock()
		f.presence = append(f.presence, sub)
		f.mu.Unlock()
	}
	fctx, cancel := context.WithTimeout(ctx, f.o.CallTimeout)
	defer cancel()
	if err := f.nc.FlushWithContext(fctx); err != nil {
		if ctx.Err() != nil {
			f.unlisten()
			return ctx.Err()
		}
		return nil // not connected: the subscriptions go with the connection
	}
	// The server's refusal comes before the flush's answer.
	if refused(f.nc.LastError(), subjects) != nil {
		f.unlisten()
	}
	return nil
}

func (f *Fleet) unlisten() {
	f.mu.Lock()
	subs := f.presence
	f.presence = nil
	f.mu.Unlock()
	for _, sub := range subs {
		_ = sub.Unsubscribe()
	}
}

// presenceDroppedLocked is how many presences the fleet's subscriptions
// lost, not keeping up (a host flooding its own subject, say).
func (f *Fleet) presenceDroppedLocked() uint64 {
	var n uint64
	for _, sub := range f.presence {
		if d, err := sub.Dropped(); err == nil {
			n += uint64(d)
		}
	}
	return n
}

// hear takes in one presence: its host is the subject's last token, and
// the message must say the same host and the fleet's prefix. One message
// a host is decoded a round, a presence or not: only the host may publish
// on its subject, so it can spoil only its own, and a host flooding it
// costs the fleet a map look-up a message. A host not a presence is
// noted with no labels, which settle passes over.
func (f *Fleet) hear(m *nats.Msg) {
	host, ok := strings.CutPrefix(m.Subject, f.o.Prefix+".hello.")
	if !ok || !validToken(host) || len(m.Data) == 0 || len(m.Data) > maxPresence {
		return // empty: `plugvisor check` trying the host's permission
	}
	f.mu.Lock()
	_, dup := f.heard[host]
	full := !dup && len(f.heard) >= f.o.MaxHosts
	if full {
		f.refused++
	}
	if !dup && !full {
		f.heard[host] = nil // taken this round, whatever it says
	}
	f.mu.Unlock()
	if dup || full {
		return
	}
	var p PresenceMessage
	bad := json.Unmarshal(m.Data, &p) != nil || p.Host != host || p.Prefix != f.o.Prefix
	f.mu.Lock()
	defer f.mu.Unlock()
	if bad {
		f.badPresence++
		return
	}
	if h, ok := f.hosts[host]; ok {
		// Seen as of its presence's arrival, not of the round's end:
		// a host that stopped since is not seen after it stopped.
		h.lastSeen, h.present = f.o.Now(), true
	}
	f.heard[host] = boundLabels(p.Labels)
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
			old.present = old.present || h.present
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
