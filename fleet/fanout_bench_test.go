package fleet_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/internal/percentile"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor"
	st "github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// BenchmarkFanOut sends one task to the echo of every host of a fleet at
// once through Fleet.FanOut (what `fleet ctl send` does) and times until
// every reply is in, against raw NATS scatter-gather of the same request
// bytes to as many responders, each on a connection of its own, answering
// at once with the same reply bytes: one request, N replies collected on
// one inbox. Each host is an in-process engine with the real echo plugin,
// served over NATS on a connection of its own; the engines path sends the
// same task to every engine at once in process, the part of the time that
// is the engines' and the plugins'. It reports each path's
// p50 and p99 and the ratio of their means; ns/op is one fan-out of each.
//
//	go test ./fleet -run '^$' -bench FanOut -benchtime 400x -count 3
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{10, 50} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) { benchFanOut(b, n) })
	}
}

func benchFanOut(b *testing.B, n int) {
	srv := startServer(b)
	plugins := st.Plugin(b, "echo", st.Bin("echo"), "")
	hosts := make([]string, n)
	engines := make([]*st.Env, n)
	for i := range n {
		hosts[i] = fmt.Sprintf("h%02d", i)
		engines[i] = st.Start(b, plugins, st.Options{})
		serve(b, srv.connect(b), engines[i].Sup, subjectsOf(hosts[i]), nil)
	}
	for _, e := range engines {
		e.WaitState("echo", supervisor.StateRunning)
	}
	ctx := context.Background()
	fl, err := fleet.StartFleet(ctx, fleet.FleetOptions{Conn: srv.connect(b), Prefix: testPrefix, DiscoverWait: 100 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(fl.Close)
	if got := len(fl.Pick(fleet.Selector{})); got != n {
		b.Fatalf("discovery found %d hosts, want %d", got, n)
	}
	task := supervisor.TaskRequest{Plugin: "echo", ID: 1, Content: "ping"}

	request, err := json.Marshal(fleet.SendRequest{Plugin: task.Plugin, ID: task.ID, Content: task.Content, Timeout: "30s"})
	if err != nil {
		b.Fatal(err)
	}
	sample, err := srv.connect(b).Request(subjectsOf(hosts[0]).API(fleet.OpSend), request, 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	reply := sample.Data
	for range n {
		responder := srv.connect(b)
		if _, err := responder.Subscribe("bench.scatter", func(m *nats.Msg) { _ = m.Respond(reply) }); err != nil {
			b.Fatal(err)
		}
		if err := responder.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	caller := srv.connect(b)
	inbox := caller.NewRespInbox()
	replies, err := caller.SubscribeSync(inbox)
	if err != nil {
		b.Fatal(err)
	}
	if err := replies.SetPendingLimits(-1, -1); err != nil {
		b.Fatal(err)
	}

	raw := func() error {
		if err := caller.PublishRequest("bench.scatter", inbox, request); err != nil {
			return err
		}
		for range n {
			if _, err := replies.NextMsg(10 * time.Second); err != nil {
				return err
			}
		}
		return nil
	}
	fan := func() error {
		for _, r := range fl.FanOut(ctx, hosts, task, nil) {
			if r.Err != nil || r.Reply.Outcome != supervisor.OutcomeAnswered {
				return fmt.Errorf("host %s: %s: %v", r.Host, r.Reply.Outcome, r.Err)
			}
		}
		return nil
	}
	// The engines' own part: the same task to every engine at once, in
	// process, no NATS between.
	direct := func() error {
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i, e := range engines {
			wg.Go(func() { _, errs[i] = e.Sup.SendTask(ctx, task) })
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	paths := []*seqPath{{name: "raw", call: raw}, {name: "engines", call: direct}, {name: "fleet", call: fan}}
	testutil.InRounds(b, paths)
	mean := map[string]float64{}
	for _, p := range paths {
		mean[p.name] = float64(p.total.Nanoseconds()) / float64(len(p.rtts))
		b.ReportMetric(float64(percentile.Of(p.rtts, 50).Nanoseconds())/1e3, p.name+"-p50-µs")
		b.ReportMetric(float64(percentile.Of(p.rtts, 99).Nanoseconds())/1e3, p.name+"-p99-µs")
	}
	b.ReportMetric(mean["fleet"]/mean["raw"], "fleet/raw")
	b.ReportMetric(mean["engines"]/mean["raw"], "engines/raw")
}
