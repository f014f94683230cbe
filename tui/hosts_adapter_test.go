package tui

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
)

// hostQualified is one real engine's API as an API over many hosts (the
// fleet's) shows it: names qualified HOST/NAME, the host and its labels on
// every status and event. It stands in for the fleet API, which lives in
// its own package, so the console's tests over many hosts run real engines
// and real plugins. down makes the host stop answering: its last snapshot
// is kept and marked unreachable, as the fleet API keeps it.
type hostQualified struct {
	host   string
	labels map[string]string
	api    supervisor.API

	seen func() time.Time // the clock of last-seen times; nil is time.Now

	mu       sync.Mutex
	down     bool
	last     []supervisor.PluginStatus
	lastSeen time.Time
}

func (h *hostQualified) setDown(down bool) {
	h.mu.Lock()
	h.down = down
	h.mu.Unlock()
}

func (h *hostQualified) isDown() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down
}

var errUnreachable = errors.New("host unreachable")

// hostsAPI merges hosts into one API, routing each call by the host its
// name begins with.
type hostsAPI []*hostQualified

func (f hostsAPI) route(name string) (*hostQualified, string, error) {
	host, local, ok := supervisor.SplitHost(name)
	for _, h := range f {
		if ok && h.host == host {
			if h.isDown() {
				return nil, "", fmt.Errorf("%s: %w", host, errUnreachable)
			}
			return h, local, nil
		}
	}
	return nil, "", fmt.Errorf("%s: %w", name, supervisor.ErrUnknownPlugin)
}

func (h *hostQualified) qualify(e supervisor.Event) supervisor.Event {
	q := func(s string) string {
		if s == "" {
			return ""
		}
		return supervisor.QualifiedName(h.host, s)
	}
	e.Host, e.Plugin, e.Instance, e.Log.Instance = h.host, q(e.Plugin), q(e.Instance), q(e.Log.Instance)
	if e.Task != nil {
		t := *e.Task
		t.Reply.Plugin, t.Reply.Instance = q(t.Reply.Plugin), q(t.Reply.Instance)
		e.Task = &t
	}
	return e
}

func (f hostsAPI) Info(ctx context.Context) (supervisor.Info, error) {
	info, err := f[0].api.Info(ctx)
	info.Name, info.Host, info.PID = "fleet", "fleet", 0
	return info, err
}

func (f hostsAPI) Snapshot(ctx context.Context) ([]supervisor.PluginStatus, error) {
	var out []supervisor.PluginStatus
	for _, h := range f {
		h.mu.Lock()
		if !h.down {
			sts, err := h.api.Snapshot(ctx)
			if err != nil {
				h.mu.Unlock()
				return nil, err
			}
			h.lastSeen = time.Now()
			if h.seen != nil {
				h.lastSeen = h.seen()
			}
			h.last = h.last[:0]
			for _, st := range sts {
				st.Name, st.Instance = supervisor.QualifiedName(h.host, st.Name), supervisor.QualifiedName(h.host, st.Instance)
				st.Host, st.HostLabels = h.host, h.labels
				h.last = append(h.last, st)
			}
		}
		for _, st := range h.last {
			st.HostLastSeen, st.HostUnreachable = h.lastSeen, h.down
			out = append(out, st)
		}
		h.mu.Unlock()
	}
	return out, nil
}

func (f hostsAPI) each(name string, do func(api supervisor.API, local string) error) error {
	h, local, err := f.route(name)
	if err != nil {
		return err
	}
	return do(h.api, local)
}

func (f hostsAPI) Start(ctx context.Context, name string) error {
	return f.each(name, func(api supervisor.API, l string) error { return api.Start(ctx, l) })
}

func (f hostsAPI) Stop(ctx context.Context, name string) error {
	return f.each(name, func(api supervisor.API, l string) error { return api.Stop(ctx, l) })
}

func (f hostsAPI) Restart(ctx context.Context, name string) error {
	return f.each(name, func(api supervisor.API, l string) error { return api.Restart(ctx, l) })
}

func (f hostsAPI) Reload(ctx context.Context) error {
	for _, h := range f {
		if err := h.api.Reload(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (f hostsAPI) SendTask(ctx context.Context, req supervisor.TaskRequest) (supervisor.Reply, error) {
	h, local, err := f.route(req.Plugin)
	if err != nil {
		return supervisor.Reply{Plugin: req.Plugin, ID: req.ID, Token: req.Token, Outcome: supervisor.OutcomeNotSent}, err
	}
	req.Plugin = local
	r, err := h.api.SendTask(ctx, req)
	r.Plugin, r.Instance = supervisor.QualifiedName(h.host, r.Plugin), supervisor.QualifiedName(h.host, r.Instance)
	return r, err
}

func (f hostsAPI) Ping(ctx context.Context, name string) (time.Duration, error) {
	h, local, err := f.route(name)
	if err != nil {
		return 0, err
	}
	return h.api.Ping(ctx, local)
}

func (f hostsAPI) Logs(ctx context.Context, name string, n int) ([]supervisor.LogLine, error) {
	h, local, err := f.route(name)
	if err != nil {
		return nil, err
	}
	lines, err := h.api.Logs(ctx, local, n)
	for i := range lines {
		lines[i].Instance = supervisor.QualifiedName(h.host, lines[i].Instance)
	}
	return lines, err
}

func (f hostsAPI) History(ctx context.Context, q supervisor.HistoryQuery) ([]supervisor.Event, error) {
	hosts := []*hostQualified(f)
	if q.Plugin != "" {
		h, local, err := f.route(q.Plugin)
		if err != nil {
			return nil, err
		}
		hosts, q.Plugin = []*hostQualified{h}, local
	}
	var out []supervisor.Event
	for _, h := range hosts {
		evs, err := h.api.History(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			out = append(out, h.qualify(e))
		}
	}
	return out, nil
}

func (f hostsAPI) Subscribe(ctx context.Context, buffer int) (<-chan supervisor.Event, func(), error) {
	out, done := make(chan supervisor.Event, buffer), make(chan struct{})
	var wg sync.WaitGroup
	var cancels []func()
	for _, h := range f {
		evs, cancel, err := h.api.Subscribe(ctx, buffer)
		if err != nil {
			for _, c := range cancels {
				c()
			}
			return nil, nil, err
		}
		cancels = append(cancels, cancel)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range evs {
				if h.isDown() {
					continue
				}
				select {
				case out <- h.qualify(e):
				case <-done: // the subscriber has gone
				}
			}
		}()
	}
	go func() { wg.Wait(); close(out) }()
	var once sync.Once
	return out, func() {
		once.Do(func() {
			close(done)
			for _, c := range cancels {
				c()
			}
		})
	}, nil
}
