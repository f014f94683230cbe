package headless

import (
	"context"
	"log/slog"
	"time"

	"github.com/plugvisor/plugvisor/internal/clip"
	"github.com/plugvisor/plugvisor/internal/ratelimit"
	"github.com/plugvisor/plugvisor/supervisor"
)

// Plugin output reaches the supervisor's own log only as a sample: the
// plugin's log files keep every line, rotated and capped, while the
// supervisor's log has no cap, so a plugin that writes a gigabyte must not
// write a gigabyte there too.
const (
	OutputLinesPerSecond = 50   // lines forwarded per instance per second
	OutputLineMax        = 1024 // bytes of a forwarded line; the rest is cut and marked
)

// forwarder logs plugin output lines, at most OutputLinesPerSecond per
// instance, each cut to OutputLineMax, and says how many it held back and
// where they are. Used by one goroutine.
type forwarder struct {
	log       *slog.Logger
	api       supervisor.API
	instances map[string]*outputState
}

type outputState struct {
	limit *ratelimit.Limiter
	held  map[supervisor.Stream]int // lines not forwarded since the last report
	files map[supervisor.Stream]string
}

func newForwarder(log *slog.Logger, api supervisor.API) *forwarder {
	return &forwarder{log: log, api: api, instances: make(map[string]*outputState)}
}

func (f *forwarder) line(l supervisor.LogLine, instance string, now time.Time) {
	st := f.state(instance)
	ok, _ := st.limit.Allow(now)
	if !ok {
		if st.limit.Held() == 1 {
			f.log.Warn("plugin output: more than the forwarded lines a second; the rest are only in the plugin's log file",
				"instance", instance, "stream", string(l.Stream), "per_second", OutputLinesPerSecond, "file", f.file(instance, l.Stream))
		}
		st.held[l.Stream]++
		return
	}
	f.report(instance, st)
	// Not in History: the line is there already, as the plugin's EventLog.
	f.log.InfoContext(supervisor.NotInHistory(context.Background()), "plugin output", "instance", instance, "stream", string(l.Stream), "line", clip.Text(l.Text, OutputLineMax))
}

// report says how many lines of each stream were held back since the last
// report, and where they are.
func (f *forwarder) report(instance string, st *outputState) {
	for _, stream := range []supervisor.Stream{supervisor.Stdout, supervisor.Stderr} {
		n := st.held[stream]
		if n == 0 {
			continue
		}
		delete(st.held, stream)
		f.log.Warn("plugin output not forwarded; the lines are in the plugin's log file",
			"instance", instance, "stream", string(stream), "lines", n, "file", f.file(instance, stream))
	}
}

// flush reports what every instance has held back, at exit.
func (f *forwarder) flush() {
	for instance, st := range f.instances {
		f.report(instance, st)
	}
}

func (f *forwarder) state(instance string) *outputState {
	st := f.instances[instance]
	if st == nil {
		st = &outputState{
			limit: ratelimit.New(OutputLinesPerSecond, time.Second),
			held:  make(map[supervisor.Stream]int),
			files: make(map[supervisor.Stream]string),
		}
		f.instances[instance] = st
	}
	return st
}

// file is where the instance's stream is kept, asked of the engine once.
func (f *forwarder) file(instance string, stream supervisor.Stream) string {
	st := f.state(instance)
	if path, ok := st.files[stream]; ok {
		return path
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	all, _ := f.api.Snapshot(ctx)
	for _, s := range all {
		if s.Instance == instance {
			st.files[supervisor.Stdout], st.files[supervisor.Stderr] = s.StdoutLog, s.StderrLog
		}
	}
	return st.files[stream]
}
