// Package headless runs the engine without a console: lifecycle events become structured logs, records become JSON lines, and signals drive shutdown and reload.
package headless

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
)

// Defaults of the Options that bound what headless holds and how long it
// waits.
const (
	DefaultOutputBuffer = 16 << 20    // bytes of JSON lines waiting for Data
	DefaultDrain        = time.Second // how long the output gets after the engine is done
)

// Options say where output goes and what it may cost.
type Options struct {
	Log     *slog.Logger // lifecycle events
	Data    io.Writer    // records as JSON lines
	Buffer  int          // events of the subscription; the engine drops beyond it for a slow reader
	Signals bool         // handle SIGINT/SIGTERM (stop) and SIGHUP (reload)
	// OutputBuffer bounds, in bytes, the JSON lines waiting for Data: a
	// slow or stalled Data costs the records beyond it (dropped, counted
	// and reported), never memory. Default DefaultOutputBuffer.
	OutputBuffer int64
	// Drain is how long Data may take, once the engine is done, to take
	// what is still queued; what it has not taken by then is counted as
	// dropped and Run returns regardless. Default DefaultDrain.
	Drain time.Duration
	// StopGrace is the engine's stop grace, said when a signal stops the
	// plugins: with Drain it bounds how long the stop takes.
	StopGrace time.Duration
}

// Daemon is the headless face of an engine: subscribed from before the
// engine starts, so it writes every event the engine publishes.
type Daemon struct {
	api         supervisor.API
	opts        Options
	events      <-chan supervisor.Event
	unsubscribe func()
}

// Attach subscribes to api. Call it before the engine starts; then Run.
func Attach(api supervisor.API, opts Options) (*Daemon, error) {
	if opts.Buffer <= 0 {
		opts.Buffer = 4096
	}
	if opts.OutputBuffer <= 0 {
		opts.OutputBuffer = DefaultOutputBuffer
	}
	if opts.Drain <= 0 {
		opts.Drain = DefaultDrain
	}
	events, unsubscribe, err := api.Subscribe(context.Background(), opts.Buffer)
	if err != nil {
		return nil, fmt.Errorf("headless: %w", err)
	}
	return &Daemon{api: api, opts: opts, events: events, unsubscribe: unsubscribe}, nil
}

// Run writes events as they come until done is closed (the engine has
// stopped). With Signals, SIGINT and SIGTERM call stop and SIGHUP reloads;
// the plugins' last events, while the engine stops them, are still written.
// Once done is closed, Run returns within Drain, whether or not its output
// took everything.
func (d *Daemon) Run(stop func(), done <-chan struct{}) error {
	out := newOutbox(d.opts.OutputBuffer)
	written := make(chan struct{})
	go func() {
		defer close(written)
		out.writeAll(d.opts.Data, func(err error) {
			d.opts.Log.Error("cannot write records; dropping them from now on, plugins keep running", "err", err)
		})
	}()
	c := newConsumer(d.opts.Log, d.api, out)
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		c.run(d.events)
	}()
	if d.opts.Signals {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go handleSignals(ctx, stop, d.api, d.opts)
		// A reader of our output that goes away must cost its output, not
		// kill the supervisor before it stops its plugins: with SIGPIPE
		// notified, a write to a closed pipe returns EPIPE instead.
		pipe := make(chan os.Signal, 1)
		signal.Notify(pipe, syscall.SIGPIPE)
		defer signal.Stop(pipe)
	}
	<-done
	d.unsubscribe()
	d.drain(c, out, consumed, written)
	reportLosses(d.opts.Log, out.losses())
	return nil
}

// drain gives the consumer and the output Drain to finish what the engine
// published. A consumer still busy then counts the rest without encoding
// it; an output still blocked then is left blocked, its records counted,
// since a reader that never reads must not keep the supervisor from
// exiting.
func (d *Daemon) drain(c *consumer, out *outbox, consumed, written <-chan struct{}) {
	expired := time.After(d.opts.Drain)
	select {
	case <-consumed:
	case <-expired:
		c.hurry.Store(true)
		<-consumed
		out.close()
		out.abandon()
		return
	}
	out.close()
	select {
	case <-written:
	case <-expired:
		out.abandon()
	}
}

// reportLosses says, at exit, every record that never reached the output.
func reportLosses(log *slog.Logger, l losses) {
	total := l.total()
	if total.records == 0 && total.bytes == 0 {
		return
	}
	log.Warn("records dropped, all told", "records", total.records, "bytes", total.bytes,
		"over_budget", l.overBudget.records, "output_failed", l.failed.records, "at_exit", l.abandoned.records)
}

// handleSignals stops on SIGINT/SIGTERM and reloads on SIGHUP. A reload
// runs beside the loop, one at a time, so a reload that waits for plugins to
// stop never delays a stop signal.
func handleSignals(ctx context.Context, stop func(), api supervisor.API, opts Options) {
	log := opts.Log
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(ch)
	var reloading atomic.Bool
	for {
		select {
		case <-ctx.Done():
			return
		case sig := <-ch:
			if sig != syscall.SIGHUP {
				log.Info("signal received; stopping plugins", "signal", sig.String(), "stop_grace", opts.StopGrace, "output_drain", opts.Drain)
				stop()
				return
			}
			if !reloading.CompareAndSwap(false, true) {
				log.Warn("SIGHUP: a reload is already running; ignored")
				continue
			}
			go func() {
				defer reloading.Store(false)
				log.Info("SIGHUP: reloading configuration")
				if err := api.Reload(ctx); err != nil {
					log.Error("reload failed", "err", err)
				}
			}()
		}
	}
}
