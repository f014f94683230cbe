package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/plugvisor/plugvisor/ctl"
	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/internal/spool"
	"github.com/plugvisor/plugvisor/metrics"
	"github.com/plugvisor/plugvisor/registry"
)

// beside is what runs beside the engine for the fleet and for Prometheus:
// the fleet link (records, events, the API over NATS) when [fleet] is
// set, and /metrics when agent.metrics_listen is. Both are subscribers of
// the engine like any face.
type beside struct {
	nc    *nats.Conn
	link  *fleet.Link
	spool *spool.Spool
	log   *slog.Logger
}

// startBeside connects the fleet link before the engine runs, so the link
// has its records from the first. A server that does not answer is no
// error (records spool until it does); a configuration that cannot work
// (an unreadable seed, a spool that cannot be opened) is.
func (e engine) startBeside(ctx context.Context) (*beside, error) {
	b := &beside{log: e.log}
	f := e.cfg.Fleet
	if f == nil {
		return b, nil
	}
	sp, err := openSpool(e.cfg)
	if err != nil {
		return nil, err
	}
	nc, err := fleet.Connect(f, "plugvisor "+f.Host, true, e.log)
	if err != nil {
		sp.Close()
		return nil, err
	}
	if !nc.IsConnected() {
		e.log.Warn("fleet: no NATS server answers yet; records wait in the spool, the API is served once one does", "servers", fleet.Redacted(f.Servers))
	}
	link, err := fleet.StartLink(ctx, fleet.LinkOptions{
		Conn: nc, API: e.sup, Subjects: fleet.SubjectsOf(f), Stream: fleet.StreamOf(f),
		Spool: sp, PublishWindow: int(f.PublishWindow), Log: e.log,
	})
	if err != nil {
		nc.Close()
		sp.Close()
		return nil, err
	}
	b.nc, b.link, b.spool = nc, link, sp
	return b, nil
}

// openSpool opens the records spool: memory, and a file under work_dir
// when spool_file is set.
func openSpool(cfg *registry.Config) (*spool.Spool, error) {
	o := spool.Options{MemoryBytes: int64(cfg.Fleet.SpoolMemory), FileBytes: int64(cfg.Fleet.SpoolFile)}
	if o.FileBytes > 0 {
		o.Path = filepath.Join(cfg.Agent.WorkDir, "fleet", "records.spool")
	}
	sp, err := spool.Open(o)
	if err != nil {
		return nil, fmt.Errorf("fleet spool: %w", err)
	}
	return sp, nil
}

// serve runs, once the engine is ready, the operator API on NATS and
// /metrics, until ctx ends.
func (b *beside) serve(ctx context.Context, e engine) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-e.sup.Ready():
		case <-ctx.Done():
			return
		}
		if b.link != nil {
			stop, err := fleet.Serve(fleet.ServiceOptions{
				Conn: b.nc, API: e.sup, Subjects: fleet.SubjectsOf(e.cfg.Fleet),
				Version: version(), Labels: e.cfg.Fleet.Labels, Log: e.log,
			})
			if err != nil {
				e.log.Warn("fleet: the operator API cannot be served on NATS", "err", err)
			} else {
				defer stop()
			}
		}
		if addr := e.cfg.Agent.MetricsListen; addr != "" {
			b.serveMetrics(ctx, e, addr)
		}
		<-ctx.Done()
	}()
	return done
}

func (b *beside) serveMetrics(ctx context.Context, e engine, addr string) {
	o := metrics.Options{API: e.sup, Log: e.log}
	if b.link != nil {
		o.Fleet = func() metrics.FleetStats { return fleetStats(b.link.Stats()) }
	}
	exp, err := metrics.New(ctx, o)
	if err == nil {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			e.log.Info("metrics served", "url", "http://"+ln.Addr().String()+"/metrics")
			go func() {
				if err := metrics.Serve(ctx, ln, exp); err != nil && !errors.Is(err, http.ErrServerClosed) {
					e.log.Warn("metrics server failed", "err", err)
				}
			}()
			return
		}
	}
	e.log.Warn("metrics cannot be served", "addr", addr, "err", err)
}

func fleetStats(s fleet.Stats) metrics.FleetStats {
	return metrics.FleetStats{
		Connected: s.Connected, SpoolRecords: s.SpoolRecords, SpoolBytes: s.SpoolBytes,
		Published: s.Published, Acked: s.Acked, Retried: s.Retried, Dropped: s.Dropped, DroppedBytes: s.DroppedBytes,
		EventsPublished: s.EventsPublished, EventsDropped: s.EventsDropped,
	}
}

// close ends the link once the engine is done; what was not acknowledged
// stays in the spool (its file, when there is one, for the next run).
func (b *beside) close() {
	if b.link == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), drainTime)
	defer cancel()
	b.link.Drain(ctx)
	b.link.Close()
	b.nc.Close()
	if err := b.spool.Close(); err != nil {
		b.log.Warn("fleet spool", "err", err)
	}
}

// drainTime bounds how long plugvisor waits at exit for the server to
// acknowledge the records it has; the rest wait in the spool file, or are
// lost and counted when there is none.
const drainTime = 3 * time.Second

// version is plugvisor's module version, as the fleet's service says it.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "0.0.0-dev"
}

const fleetUsage = `usage: plugvisor fleet --nats URL [--select SELECTOR] [--no-tui] [--theme NAME]
       plugvisor fleet --demo [--demo-hosts N] [--no-tui]
       plugvisor fleet ctl --nats URL COMMAND ...   (plugvisor fleet ctl help)
       plugvisor fleet nats-config [flags]   (plugvisor fleet nats-config -h)
  (flags)      the console over every host that answers on NATS (--no-tui:
               headless, records as JSON lines); --demo starts a NATS server
               and simulated hosts in this process and shows them
  ctl          status, send, start, stop, restart, events across the hosts a
               selector picks (host=edge-1, env=prod,role=edge, *)
  nats-config  print the nats-server users of a fleet: each host may publish
               and answer only under its own name, operators call hosts' APIs
`

// runFleet is `plugvisor fleet VERB`.
func runFleet(args []string) int {
	if len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' && args[0] != "-h" && args[0] != "--help" {
		return runFleetConsole(args)
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		var f fleetFlags
		printFleetUsage(os.Stderr, fleetFlagSet(&f))
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	switch args[0] {
	case "nats-config":
		return fleet.NATSConfigCommand(args[1:], os.Stdout, os.Stderr)
	case "ctl":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		return ctl.FleetMain(ctx, args[1:], os.Stdin, os.Stdout, os.Stderr)
	}
	fmt.Fprintf(os.Stderr, "plugvisor fleet: unknown command %q\n%s", args[0], fleetUsage)
	return exitUsage
}
