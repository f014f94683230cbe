package control_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ct "github.com/plugvisor/plugvisor/control/controltest"
	"github.com/plugvisor/plugvisor/internal/percentile"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor"
)

// benchConcurrency is the number of tasks kept in flight.
const benchConcurrency = 64

// BenchmarkSendTask sends b.N tasks to the real echo plugin through the
// embedded API and b.N through the control socket, 64 in flight, against
// one supervisor, alternating in rounds. It reports each path's tasks/s and
// caller-side round trip p50 and p99, and the ratio of the p50s.
//
//	go test ./control -run '^$' -bench SendTask -benchtime 200000x -count 5
func BenchmarkSendTask(b *testing.B) {
	e := ct.Start(b, ct.Plugin(b, "echo", ct.Bin("echo"), ""), ct.Options{})
	e.WaitState("echo", supervisor.StateRunning)
	paths := []*benchPath{{name: "embedded", api: e.Sup}, {name: "control", api: e.Dial()}}
	testutil.InRounds(b, paths)
	for _, p := range paths {
		b.ReportMetric(float64(len(p.rtts))/p.elapsed.Seconds(), p.name+"-tasks/s")
		b.ReportMetric(float64(percentile.Of(p.rtts, 50).Microseconds()), p.name+"-p50-µs")
		b.ReportMetric(float64(percentile.Of(p.rtts, 99).Microseconds()), p.name+"-p99-µs")
	}
	b.ReportMetric(float64(percentile.Of(paths[1].rtts, 50))/float64(percentile.Of(paths[0].rtts, 50)), "p50-ratio")
}

func (p *benchPath) Label() string { return p.name }
func (p *seqPath) Label() string   { return p.name }

// benchPath accumulates one path's figures over the rounds.
type benchPath struct {
	name    string
	api     supervisor.API
	rtts    []time.Duration
	elapsed time.Duration
}

// run sends n tasks, benchConcurrency at a time.
func (p *benchPath) Run(n int) error {
	ctx := context.Background()
	rtts := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	start := time.Now()
	for range benchConcurrency {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				t0 := time.Now()
				if _, err := p.api.SendTask(ctx, supervisor.TaskRequest{Plugin: "echo", ID: 1, Content: "ping"}); err != nil {
					failed.Store(&err)
					return
				}
				rtts[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	p.elapsed += time.Since(start)
	p.rtts = append(p.rtts, rtts...)
	if err := failed.Load(); err != nil {
		return *err
	}
	return nil
}

// BenchmarkRoundTrip sends tasks one at a time to the real echo plugin,
// through the embedded API and through the control socket, and measures
// a raw Unix-socket echo between two processes as the floor, alternating
// the three in rounds. It reports each p50 and p99 and the ratios the
// targets are stated in: embedded to raw, control to embedded.
//
//	go test ./control -run '^$' -bench RoundTrip -benchtime 20000x -count 5
func BenchmarkRoundTrip(b *testing.B) {
	e := ct.Start(b, ct.Plugin(b, "echo", ct.Bin("echo"), ""), ct.Options{})
	e.WaitState("echo", supervisor.StateRunning)
	raw := startRawEcho(b)
	ctx := context.Background()
	task := func(api supervisor.API) func() error {
		return func() error {
			_, err := api.SendTask(ctx, supervisor.TaskRequest{Plugin: "echo", ID: 1, Content: "ping"})
			return err
		}
	}
	paths := []*seqPath{
		{name: "raw", call: raw.roundTrip},
		{name: "embedded", call: task(e.Sup)},
		{name: "control", call: task(e.Dial())},
	}
	testutil.InRounds(b, paths)
	p50 := map[string]time.Duration{}
	for _, p := range paths {
		p50[p.name] = percentile.Of(p.rtts, 50)
		b.ReportMetric(float64(p50[p.name].Nanoseconds())/1e3, p.name+"-p50-µs")
		b.ReportMetric(float64(percentile.Of(p.rtts, 99).Nanoseconds())/1e3, p.name+"-p99-µs")
	}
	b.ReportMetric(float64(p50["embedded"])/float64(p50["raw"]), "embedded/raw")
	b.ReportMetric(float64(p50["control"])/float64(p50["embedded"]), "control/embedded")
}

// seqPath is one contender of BenchmarkRoundTrip: call makes one round trip.
type seqPath struct {
	name string
	call func() error
	rtts []time.Duration
}

func (p *seqPath) Run(n int) error {
	for range n {
		t0 := time.Now()
		if err := p.call(); err != nil {
			return err
		}
		p.rtts = append(p.rtts, time.Since(t0))
	}
	return nil
}
