// Package headless runs the engine without a console: lifecycle events become structured logs, records become JSON lines, and signals drive shutdown and reload.
package headless

import (
	"bufio"
	"context"
	"encoding/json"
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

// Options say where output goes.
type Options struct {
	Log     *slog.Logger // lifecycle events
	Data    io.Writer    // records as JSON lines
	Buffer  int          // event buffer; a slow Data writer drops beyond it
	Signals bool         // handle SIGINT/SIGTERM (stop) and SIGHUP (reload)
}

// record is one data record as a JSON line.
type record struct {
	Time      time.Time         `json:"time"`
	Plugin    string            `json:"plugin"`
	Instance  string            `json:"instance"`
	Timestamp int64             `json:"timestamp"`
	Token     string            `json:"token,omitempty"`
	Fields    map[string]string `json:"fields"`
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
	events, unsubscribe, err := api.Subscribe(context.Background(), opts.Buffer)
	if err != nil {
		return nil, fmt.Errorf("headless: %w", err)
	}
	return &Daemon{api: api, opts: opts, events: events, unsubscribe: unsubscribe}, nil
}

// Run writes events as they come until done is closed (the engine has
// stopped). With Signals, SIGINT and SIGTERM call stop and SIGHUP reloads;
// the plugins' last events, while the engine stops them, are still written.
func (d *Daemon) Run(stop func(), done <-chan struct{}) error {
	written := make(chan struct{})
	go func() {
		defer close(written)
		write(d.events, d.opts)
	}()
	if d.opts.Signals {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go handleSignals(ctx, stop, d.api, d.opts.Log)
		// A reader of our output that goes away must cost its output, not
		// kill the supervisor before it stops its plugins: with SIGPIPE
		// notified, a write to a closed pipe returns EPIPE instead.
		pipe := make(chan os.Signal, 1)
		signal.Notify(pipe, syscall.SIGPIPE)
		defer signal.Stop(pipe)
	}
	<-done
	d.unsubscribe()
	<-written
	return nil
}

// handleSignals stops on SIGINT/SIGTERM and reloads on SIGHUP. A reload
// runs beside the loop, one at a time, so a reload that waits for plugins to
// stop never delays a stop signal.
func handleSignals(ctx context.Context, stop func(), api supervisor.API, log *slog.Logger) {
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
				log.Info("signal received; stopping plugins", "signal", sig.String())
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

// write turns events into log lines and JSON records until events closes.
// State changes are not logged here: the supervisor logs them itself, with
// detail no event carries.
// Records are flushed when no event is waiting, so a burst costs few writes.
func write(events <-chan supervisor.Event, opts Options) {
	out := &recordWriter{bw: bufio.NewWriterSize(opts.Data, 64<<10), log: opts.Log}
	out.enc = json.NewEncoder(out.bw)
	for ev := range events {
		logEvent(opts.Log, ev)
		if ev.Type == supervisor.EventRecords {
			for _, r := range ev.Records {
				out.write(record{Time: ev.Time, Plugin: ev.Plugin, Instance: ev.Instance, Timestamp: r.Timestamp, Token: r.Token, Fields: r.Fields})
			}
		}
		if len(events) == 0 {
			out.flush()
		}
	}
	out.flush()
}

// recordWriter writes records until its output fails; after that it counts
// what it drops, says so once, and keeps the supervisor running.
type recordWriter struct {
	bw      *bufio.Writer
	enc     *json.Encoder
	log     *slog.Logger
	failed  bool
	dropped uint64
}

func (w *recordWriter) write(r record) {
	if w.failed {
		w.dropped++
		return
	}
	w.check(w.enc.Encode(r))
}

func (w *recordWriter) flush() {
	if !w.failed {
		w.check(w.bw.Flush())
	}
	if w.failed && w.dropped > 0 {
		w.log.Debug("records dropped: output closed", "dropped", w.dropped)
	}
}

func (w *recordWriter) check(err error) {
	if err != nil && !w.failed {
		w.failed = true
		w.log.Error("cannot write records; dropping them from now on, plugins keep running", "err", err)
	}
}

func logEvent(log *slog.Logger, ev supervisor.Event) {
	switch ev.Type {
	case supervisor.EventLog:
		log.Info("plugin output", "instance", ev.Instance, "stream", string(ev.Log.Stream), "line", ev.Log.Text)
	case supervisor.EventTask:
		t := ev.Task
		switch {
		case !t.Outcome.Final():
		case t.Outcome.OK() || t.Outcome == supervisor.OutcomeError:
			log.Info("task answered", "instance", ev.Instance, "id", t.ID, "token", t.Token, "outcome", string(t.Outcome), "rtt", t.Reply.RTT)
		default:
			log.Warn("task failed", "instance", ev.Instance, "id", t.ID, "token", t.Token, "outcome", string(t.Outcome), "detail", t.Detail)
		}
	case supervisor.EventDropped:
		log.Warn("output fell behind; events dropped", "dropped", ev.Dropped)
	}
}
