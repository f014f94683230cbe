package fleet_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/internal/percentile"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor"
	st "github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// BenchmarkTaskRoundTrip sends tasks one at a time to the real echo
// plugin through fleet.Client (client → NATS → service → engine → echo and
// back), and directly through the engine's SendTask, and measures two
// anchors: a raw NATS request of the same bytes to a responder that
// answers at once with the same reply bytes (the floor), and one to a raw
// responder that calls the engine's SendTask first (raw NATS and the
// engine back to back: what the fleet path adds is the rest), alternating
// the four in rounds. It reports each mean and p50, and the fleet's ratios
// over both anchors; ns/op is one round trip of each path, the four
// together.
//
//	go test ./fleet -run '^$' -bench TaskRoundTrip -benchtime 20000x -count 5
func BenchmarkTaskRoundTrip(b *testing.B) {
	eng := st.Start(b, st.Plugin(b, "echo", st.Bin("echo"), ""), st.Options{})
	srv := startServer(b)
	subj := subjectsOf("bench")
	serve(b, srv.connect(b), eng.Sup, subj, nil)
	client := fleet.NewClient(fleet.ClientOptions{Conn: srv.connect(b), Subjects: subj})
	eng.WaitState("echo", supervisor.StateRunning)

	ctx := context.Background()
	task := supervisor.TaskRequest{Plugin: "echo", ID: 1, Content: "ping"}
	request, err := json.Marshal(fleet.SendRequest{Plugin: task.Plugin, ID: task.ID, Content: task.Content, Timeout: "30s"})
	if err != nil {
		b.Fatal(err)
	}
	caller := srv.connect(b)
	sample, err := caller.Request(subj.API(fleet.OpSend), request, 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	reply := sample.Data
	responder := srv.connect(b)
	if _, err := responder.Subscribe("bench.raw", func(m *nats.Msg) { _ = m.Respond(reply) }); err != nil {
		b.Fatal(err)
	}
	// The composite anchor: a raw responder that hands the task to the
	// engine and answers with the reply's bytes, so what the fleet path
	// adds over NATS plus the engine is measured apart.
	if _, err := responder.Subscribe("bench.raw-engine", func(m *nats.Msg) {
		if _, err := eng.Sup.SendTask(ctx, task); err != nil {
			_ = m.Respond([]byte(err.Error()))
			return
		}
		_ = m.Respond(reply)
	}); err != nil {
		b.Fatal(err)
	}
	if err := responder.Flush(); err != nil {
		b.Fatal(err)
	}

	send := func(api supervisor.API) func() error {
		return func() error {
			_, err := api.SendTask(ctx, task)
			return err
		}
	}
	paths := []*seqPath{
		{name: "raw", call: func() error { _, err := caller.Request("bench.raw", request, 10*time.Second); return err }},
		{name: "engine", call: send(eng.Sup)},
		{name: "raw+engine", call: func() error { _, err := caller.Request("bench.raw-engine", request, 10*time.Second); return err }},
		{name: "fleet", call: send(client)},
	}
	testutil.InRounds(b, paths)
	mean := map[string]float64{}
	for _, p := range paths {
		mean[p.name] = float64(p.total.Nanoseconds()) / float64(len(p.rtts))
		b.ReportMetric(mean[p.name], p.name+"-ns/op")
		b.ReportMetric(float64(percentile.Of(p.rtts, 50).Nanoseconds())/1e3, p.name+"-p50-µs")
	}
	b.ReportMetric(mean["fleet"]/mean["raw"], "fleet/raw")
	b.ReportMetric(mean["engine"]/mean["raw"], "engine/raw")
	b.ReportMetric(mean["fleet"]/mean["raw+engine"], "fleet/raw+engine")
	p50 := func(name string) float64 {
		for _, p := range paths {
			if p.name == name {
				return float64(percentile.Of(p.rtts, 50))
			}
		}
		return 0
	}
	b.ReportMetric(p50("fleet")/p50("raw"), "fleet/raw-p50")
	b.ReportMetric(p50("fleet")/p50("raw+engine"), "fleet/raw+engine-p50")
}

// seqPath is one contender: call makes one round trip.
type seqPath struct {
	name  string
	call  func() error
	rtts  []time.Duration
	total time.Duration
}

func (p *seqPath) Label() string { return p.name }

func (p *seqPath) Run(n int) error {
	for range n {
		t0 := time.Now()
		if err := p.call(); err != nil {
			return err
		}
		d := time.Since(t0)
		p.rtts = append(p.rtts, d)
		p.total += d
	}
	return nil
}
