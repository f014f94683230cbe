package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/supervisor"
)

// The plugins a plugvisor contender runs: echo answers round trips,
// echospawn is started and stopped for spawn → ready, chaos floods.
func servingPlugins(b *bins) string {
	return pluginTOML("echo", b, b.Echo, "") +
		pluginTOML("echospawn", b, b.Echo, "auto_start = false") +
		pluginTOML("chaos", b, b.Chaos, "")
}

// agentTOML is plugvisor's defaults in a work dir of its own: what users
// get, containment included.
func agentTOML(dir string) string {
	return fmt.Sprintf("[agent]\nname = \"peers\"\nwork_dir = %q\n", dir)
}

func pluginTOML(name string, b *bins, exe, extra string) string {
	return fmt.Sprintf("[plugins.%s]\nexec = %q\nsha256 = %q\n%s\n", name, exe, b.SHA256[exe], extra)
}

// embeddedSup is a Supervisor running in this process.
type embeddedSup struct {
	sup    *supervisor.Supervisor
	dir    string
	cancel context.CancelFunc
	done   chan error
}

// startSupervisor runs supervisor.New as plugvisor's own main does: with
// this binary as its watchdog.
func startSupervisor(ctx context.Context, plugins string) (*embeddedSup, error) {
	return startSupervisorWith(ctx, "", plugins)
}

// startSupervisorWith is startSupervisor with more [agent] lines.
func startSupervisorWith(ctx context.Context, agent, plugins string) (*embeddedSup, error) {
	dir, err := os.MkdirTemp("", "pvpeer-sup")
	if err != nil {
		return nil, fmt.Errorf("work dir: %w", err)
	}
	cfg, err := registry.Parse(filepath.Join(dir, "config.toml"), []byte(agentTOML(dir)+agent+plugins))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("config: %w", err)
	}
	self, _ := os.Executable()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sup, err := supervisor.New(supervisor.Options{Config: cfg, Logger: log, WatchdogExe: self})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	e := &embeddedSup{sup: sup, dir: dir, cancel: cancel, done: make(chan error, 1)}
	go func() { e.done <- sup.Run(runCtx) }()
	select {
	case <-sup.Ready():
		return e, nil
	case err := <-e.done:
		cancel()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("supervisor: %w", err)
	}
}

// stop stops every plugin and the supervisor, and says how long it took.
func (e *embeddedSup) stop() (time.Duration, error) {
	t0 := time.Now()
	e.cancel()
	err := <-e.done
	d := time.Since(t0)
	os.RemoveAll(e.dir)
	return d, err
}

func containmentNotes(ctx context.Context, api supervisor.API, who string) ([]string, error) {
	info, err := api.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("info: %w", err)
	}
	return []string{who + " containment: " + strings.Join(info.Containment, "; ")}, nil
}

// waitRunning waits until the auto-started plugins registered: Start of
// a plugin on its way answers with how its start went.
func waitRunning(ctx context.Context, api supervisor.API) error {
	for _, p := range []string{"echo", "chaos"} {
		if err := api.Start(ctx, p); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

// apiOps are the round-trip measurements of any plugvisor API, in
// process or through the control socket.
func apiOps(api supervisor.API) map[string]op {
	echo := taskCall(api, "echo")
	return map[string]op{
		"rtt":      func(ctx context.Context, c command) (result, error) { return sequentialTasks(ctx, c.N, api, "echo") },
		"inflight": func(ctx context.Context, c command) (result, error) { return concurrent(ctx, c.N, echo) },
		"spawn": func(ctx context.Context, c command) (result, error) {
			return spawnCycles(ctx, c.N, spawnTask(api, "echospawn"))
		},
	}
}

// taskCall is one echo task through api.
func taskCall(api supervisor.API, plugin string) call {
	return func(ctx context.Context) error {
		_, err := echoTask(ctx, api, plugin)
		return err
	}
}

// echoTask sends one echo task through api and checks its reply.
func echoTask(ctx context.Context, api supervisor.API, plugin string) (supervisor.Reply, error) {
	r, err := api.SendTask(ctx, supervisor.TaskRequest{Plugin: plugin, ID: 1, Content: payload})
	if err != nil {
		return r, fmt.Errorf("task to %s: %w", plugin, err)
	}
	if len(r.Records) == 0 {
		return r, fmt.Errorf("task to %s: a reply without records", plugin)
	}
	return r, echoed(r.Records[len(r.Records)-1].Fields["content"])
}

// sequentialTasks is sequential for plugvisor: it keeps each task's
// Reply.RTT too, so that the report can tell the engine's own round trip
// to the plugin from what the path to the engine adds (the control socket,
// for the daemon).
func sequentialTasks(ctx context.Context, n int, api supervisor.API, plugin string) (result, error) {
	ds, engine := make([]time.Duration, n), make([]time.Duration, n)
	for i := range ds {
		t0 := time.Now()
		r, err := echoTask(ctx, api, plugin)
		if err != nil {
			return result{}, err
		}
		ds[i], engine[i] = time.Since(t0), r.RTT
	}
	return result{Samples: ds, Engine: engine}, nil
}

// spawnTask starts plugin through api and sends it its first task.
func spawnTask(api supervisor.API, plugin string) func(ctx context.Context) (func() error, error) {
	stop := func() error { return api.Stop(context.Background(), plugin) }
	return func(ctx context.Context) (func() error, error) {
		if err := api.Start(ctx, plugin); err != nil {
			return nil, fmt.Errorf("start %s: %w", plugin, err)
		}
		if err := taskCall(api, plugin)(ctx); err != nil {
			stop()
			return nil, err
		}
		return stop, nil
	}
}

// floodTask is chaos's task 3: n records, then the reply carrying token.
func floodTask(n int, token string) supervisor.TaskRequest {
	return supervisor.TaskRequest{Plugin: "chaos", ID: 3, Content: fmt.Sprint(n), Token: token}
}

// floodToSubscriber has chaos flood n records and counts them on an API
// subscription until the reply (the record with token) arrives there; cpu
// reads the CPU time of the process hosting the supervisor.
func floodToSubscriber(ctx context.Context, api supervisor.API, n int, token string, cpu func() (time.Duration, error)) (result, error) {
	events, cancel, err := api.Subscribe(ctx, 1<<16)
	if err != nil {
		return result{}, fmt.Errorf("subscribe: %w", err)
	}
	defer cancel()
	cpu0, err := cpu()
	if err != nil {
		return result{}, err
	}
	t0 := time.Now()
	sent := make(chan error, 1)
	go func() {
		_, err := api.SendTask(ctx, floodTask(n, token))
		sent <- err
	}()
	count, err := countUntilToken(events, sent, token)
	elapsed := time.Since(t0)
	if err != nil {
		return result{}, err
	}
	cpu1, err := cpu()
	if err != nil {
		return result{}, err
	}
	return result{Count: count, Elapsed: elapsed, CPU: cpu1 - cpu0}, nil
}

// countUntilToken counts flood records until the one carrying token. Should
// the subscription lose that record (it is lossy, and says so), the count
// ends once the task is answered and a second passes without events.
func countUntilToken(events <-chan supervisor.Event, sent <-chan error, token string) (int, error) {
	count, answered := 0, false
	quiet := time.NewTimer(time.Hour)
	defer quiet.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return count, errors.New("subscription ended before the flood did")
			}
			for i := range ev.Records {
				if ev.Records[i].Token == token {
					return count, nil
				}
				if ev.Records[i].Fields["data_type"] == "flood" {
					count++
				}
			}
			if answered {
				quiet.Reset(time.Second)
			}
		case err := <-sent:
			if err != nil {
				return count, fmt.Errorf("flood task: %w", err)
			}
			answered = true
			quiet.Reset(time.Second)
		case <-quiet.C:
			return count, nil
		}
	}
}
