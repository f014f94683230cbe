// Package ticker is a plugin with state: it emits a "tick" record every interval until shut down.
package ticker

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/plugvisor/plugvisor/examples/internal/plainlog"
	"github.com/plugvisor/plugvisor/sdk"
)

// Main runs the plugin. Flags: --interval (default 1s), --count (stop after
// that many ticks; 0 runs until shutdown), --log (say each tick on stderr,
// as the demo does, so its log pane shows what it does).
func Main(args []string) error {
	t := &Ticker{}
	var say bool
	fs := flag.NewFlagSet("ticker", flag.ContinueOnError)
	fs.DurationVar(&t.Interval, "interval", time.Second, "time between ticks")
	fs.IntVar(&t.Count, "count", 0, "stop after this many ticks (0: run until shut down)")
	fs.BoolVar(&say, "log", false, "log each tick on stderr")
	if err := sdk.ParseArgs(fs, args); err != nil {
		return err
	}
	if t.Interval <= 0 {
		return &sdk.UsageError{Err: errors.New("--interval must be positive")}
	}
	if say {
		t.Log = plainlog.New(os.Stderr)
	}
	return sdk.Run(context.Background(), t)
}

// Ticker emits {data_type: tick, seq, interval} every Interval.
type Ticker struct {
	Interval time.Duration
	Count    int          // ticks before Run returns; 0 means until shutdown
	Log      *slog.Logger // nil: quiet
}

// Info implements sdk.Plugin.
func (t *Ticker) Info() sdk.Info { return sdk.Info{Name: "ticker"} }

// Run implements sdk.Plugin. A time.Ticker rather than Sleep in a loop keeps
// the ticks on the interval however long an Emit takes.
func (t *Ticker) Run(sink sdk.Sink, s *sdk.Session) error {
	tick := time.NewTicker(t.Interval)
	defer tick.Stop()
	interval := t.Interval.String()
	if t.Log != nil {
		t.Log.Info("ticking: a tick record every interval, in the Data tab", "interval", interval)
	}
	for seq := 1; t.Count == 0 || seq <= t.Count; seq++ {
		select {
		case <-tick.C:
		case <-s.Done():
			return nil
		}
		err := sink.Emit(sdk.Fields{"data_type": "tick", "seq": strconv.Itoa(seq), "interval": interval})
		if err != nil {
			return err
		}
		if t.Log != nil {
			t.Log.Info("tick sent", "seq", seq, "next_in", interval)
		}
	}
	return nil // the runner sends what is queued before its goodbye
}
