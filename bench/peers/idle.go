package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
)

// perEntry is how many instances one [plugins] entry runs in the idle test
// (at most 64 are allowed).
const perEntry = 50

// idleOp starts c.N plugins, lets them settle, measures the CPU of the
// host and of the plugins over c.Measure and the host's threads, then
// stops them all at once, timed.
type idleFleet interface {
	// pids are the plugins' processes and the host's helpers (plugvisor's
	// watchdog), whose CPU counts as the supervisor's.
	pids(ctx context.Context) (plugins, helpers []int, err error)
	// stopAll stops every plugin at once and says how long that took,
	// and how long the host then took to exit (plugvisor's Run).
	stopAll() (stop, exit time.Duration, err error)
}

func measureIdle(ctx context.Context, c command, start func(ctx context.Context, n int) (idleFleet, error)) (result, error) {
	f, err := start(ctx, c.N)
	if err != nil {
		return result{}, err
	}
	r, err := idleWindow(ctx, c, f)
	d, exit, serr := f.stopAll()
	if err != nil {
		return result{}, err
	}
	if serr != nil {
		return result{}, fmt.Errorf("stop all: %w", serr)
	}
	r.StopAll, r.Exit = d, exit
	return r, nil
}

func idleWindow(ctx context.Context, c command, f idleFleet) (result, error) {
	select {
	case <-time.After(c.Settle): // let start-up work (GC, first heartbeats) pass
	case <-ctx.Done():
		return result{}, ctx.Err()
	}
	plugins, helpers, err := f.pids(ctx)
	if err != nil {
		return result{}, err
	}
	// The fleet is read before this process's clock starts and after it
	// stops, so reading it is not counted as the host's idle CPU.
	plug0, help0, err := fleetCPU(plugins, helpers)
	if err != nil {
		return result{}, err
	}
	self0, t0 := selfCPU(), time.Now()
	time.Sleep(c.Measure) // the window measured: nothing is asked of anyone
	self1, wall := selfCPU(), time.Since(t0)
	plug1, help1, err := fleetCPU(plugins, helpers)
	if err != nil {
		return result{}, err
	}
	th, err := threads("self")
	if err != nil {
		return result{}, err
	}
	return result{Count: c.N, Elapsed: wall, CPU: self1 - self0 + help1 - help0, PluginCPU: plug1 - plug0, Threads: th}, nil
}

func fleetCPU(plugins, helpers []int) (time.Duration, time.Duration, error) {
	p, err := pidsCPU(plugins)
	if err != nil {
		return 0, 0, err
	}
	h, err := pidsCPU(helpers)
	return p, h, err
}

// newIdlePlugvisorHost runs many echo plugins under an embedded
// supervisor, with plugvisor's default heartbeat (1 s) unless agent (TOML
// lines of [agent]) says otherwise.
func newIdlePlugvisorHost(_ context.Context, b *bins, agent string) (*host, error) {
	return &host{ops: map[string]op{"idle": func(ctx context.Context, c command) (result, error) {
		return measureIdle(ctx, c, func(ctx context.Context, n int) (idleFleet, error) { return startPlugvisorFleet(ctx, b, n, agent) })
	}}, close: func() error { return nil }}, nil
}

type plugvisorFleet struct {
	*embeddedSup
	names []string
}

func startPlugvisorFleet(ctx context.Context, b *bins, n int, agent string) (*plugvisorFleet, error) {
	var cfg strings.Builder
	f := &plugvisorFleet{}
	for i := 0; i < n; i += perEntry {
		name := fmt.Sprintf("echo%d", i/perEntry)
		f.names = append(f.names, name)
		fmt.Fprintf(&cfg, "%s", pluginTOML(name, b, b.Echo, fmt.Sprintf("auto_start = false\ninstances = %d", min(perEntry, n-i))))
	}
	var err error
	if f.embeddedSup, err = startSupervisorWith(ctx, agent, cfg.String()); err != nil {
		return nil, err
	}
	// One entry (50 instances) at a time, as an operator's config is
	// usually started: the start is not what is measured.
	for _, name := range f.names {
		if err := f.sup.Start(ctx, name); err != nil { // returns once every instance registered
			f.stop()
			return nil, fmt.Errorf("start idle plugins: %w", err)
		}
	}
	return f, nil
}

func (f *plugvisorFleet) pids(ctx context.Context) (plugins, helpers []int, err error) {
	st, err := f.sup.Snapshot(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, s := range st {
		if s.State != supervisor.StateRunning {
			return nil, nil, fmt.Errorf("%s is %s: %s", s.Instance, s.State, s.Reason)
		}
		plugins = append(plugins, s.PID)
	}
	info, err := f.sup.Info(ctx)
	if err != nil {
		return nil, nil, err
	}
	if info.WatchdogPID > 0 {
		helpers = append(helpers, info.WatchdogPID)
	}
	return plugins, helpers, nil
}

// stopAll is an operator's Stop of every plugin, all at once; then the
// supervisor's Run is ended, with nothing left to stop.
func (f *plugvisorFleet) stopAll() (time.Duration, time.Duration, error) {
	t0 := time.Now()
	errs := make([]error, len(f.names))
	var wg sync.WaitGroup
	for i, name := range f.names {
		wg.Go(func() { errs[i] = f.sup.Stop(context.Background(), name) })
	}
	wg.Wait()
	d := time.Since(t0)
	exit, err := f.stop()
	return d, exit, errors.Join(append(errs, err)...)
}

// newIdleGoPluginHost runs many go-plugin net/rpc echo plugins from this
// process.
func newIdleGoPluginHost(_ context.Context, b *bins) (*host, error) {
	return &host{ops: map[string]op{"idle": func(ctx context.Context, c command) (result, error) {
		return measureIdle(ctx, c, func(ctx context.Context, n int) (idleFleet, error) { return startGPFleet(b, n) })
	}}, close: func() error { return nil }}, nil
}

type gpFleet []*gpPlugin

// startGPFleet starts n plugins, a few at a time (go-plugin's Client
// starts one and waits for its handshake).
func startGPFleet(b *bins, n int) (gpFleet, error) {
	f := make(gpFleet, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range f {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f[i], errs[i] = startGP(b, false)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			f.stopAll()
			return nil, err
		}
	}
	return f, nil
}

func (f gpFleet) pids(context.Context) (plugins, helpers []int, err error) {
	for _, p := range f {
		rc := p.client.ReattachConfig()
		if rc == nil {
			return nil, nil, fmt.Errorf("go-plugin: a plugin has no process")
		}
		plugins = append(plugins, rc.Pid)
	}
	return plugins, nil, nil
}

// stopAll kills every plugin at once, as plugin.CleanupClients does.
func (f gpFleet) stopAll() (time.Duration, time.Duration, error) {
	t0 := time.Now()
	var wg sync.WaitGroup
	for _, p := range f {
		if p != nil {
			wg.Go(func() { p.stop() })
		}
	}
	wg.Wait()
	return time.Since(t0), 0, nil
}
